from django.apps import AppConfig


class GeoConfig(AppConfig):
    verbose_name = "地理网格"
    name = "cityops.geo"
    label = "geo"
