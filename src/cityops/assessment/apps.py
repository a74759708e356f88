from django.apps import AppConfig


class AssessmentConfig(AppConfig):
    name = "cityops.assessment"
    label = "assessment"
    verbose_name = "考核评价"

    def ready(self) -> None:
        from cityops.assessment import roles_extension  # noqa: F401

        self._register_nav()

    @staticmethod
    def _register_nav() -> None:
        from cityops.accounts import roles
        from cityops.web.navigation import NAV_ITEMS, NavItem

        readers = frozenset({roles.LEADER, roles.DISPATCHER})
        items = [
            NavItem("考核排名", "assessment:ranking", readers, order=60,
                    description="部门、街道、网格员、受理员、派遣员月度考核：指标、综合得分、等级、环比"),
            NavItem("绩效目标", "assessment:targets", readers, order=65,
                    description="中心年度绩效目标的实时完成情况与人工填报"),
        ]
        known = {item.url_name for item in NAV_ITEMS}
        NAV_ITEMS.extend(item for item in items if item.url_name not in known)
