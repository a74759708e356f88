from django.apps import AppConfig


class WebConfig(AppConfig):
    verbose_name = "界面"
    name = "cityops.web"
    label = "web"
