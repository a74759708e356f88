from django.apps import AppConfig


class PluginAppConfig(AppConfig):
    name = "cityops.common.tests.plugin_app"
    label = "plugin_app"

    def plugin(self):
        from cityops.common.tests.plugin_app.plugin import PLUGIN

        return PLUGIN
