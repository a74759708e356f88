from django.apps import AppConfig


class CommonConfig(AppConfig):
    verbose_name = "公共"
    name = "cityops.common"
    label = "common"
