from django.urls import path

from cityops.analytics import views

app_name = "analytics"
urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("bigscreen/", views.bigscreen, name="bigscreen"),
]
