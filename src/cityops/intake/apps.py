from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "cityops.intake"
    label = "intake"
    verbose_name = "受理渠道"

    def ready(self) -> None:
        from cityops.web.navigation import NAV_ITEMS, NavItem

        items = [
            NavItem("网格员上报", "intake:inspector_home", frozenset({"inspector"}), order=40,
                    description="手机巡查上报（拍照、定位），现场核查已反馈案件"),
            NavItem("批量导入", "intake:import", frozenset({"operator"}), order=55,
                    description="从 Excel / CSV 批量导入案件，先校验后写入，逐行列出错误"),
        ]
        for item in items:
            if not any(existing.url_name == item.url_name for existing in NAV_ITEMS):
                NAV_ITEMS.append(item)
