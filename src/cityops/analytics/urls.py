from django.urls import path

from cityops.analytics import report_views, views

app_name = "analytics"
urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("bigscreen/", views.bigscreen, name="bigscreen"),
    path("reports/", report_views.reports_page, name="reports"),
    path("reports/generate/", report_views.report_generate, name="report_generate"),
    path("reports/files/<str:name>", report_views.report_file, name="report_file"),
]
