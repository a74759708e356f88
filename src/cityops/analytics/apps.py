from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "cityops.analytics"
    label = "analytics"
    verbose_name = "态势监测与分析"
