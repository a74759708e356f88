from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "cityops.api"
    label = "api"
    verbose_name = "接口"
