from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "cityops.intake"
    label = "intake"
    verbose_name = "受理渠道"

    def ready(self) -> None:
        from cityops.web.navigation import NAV_ITEMS, NavItem

        item = NavItem("网格员上报", "intake:inspector_home", frozenset({"inspector"}), order=40,
                       description="手机巡查上报（拍照、定位），现场核查已反馈案件")
        if not any(existing.url_name == item.url_name for existing in NAV_ITEMS):
            NAV_ITEMS.append(item)
