from django.apps import AppConfig


class CommonConfig(AppConfig):
    verbose_name = "公共"
    name = "cityops.common"
    label = "common"

    def ready(self) -> None:
        from django.test.signals import setting_changed

        from cityops.common import plugins

        # A test that changes INSTALLED_APPS gets the plugins of the apps it installed.
        setting_changed.connect(plugins._on_setting_changed, dispatch_uid="cityops.common.plugins")
