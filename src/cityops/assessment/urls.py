from django.urls import path

from cityops.assessment import views

app_name = "assessment"
urlpatterns = [
    path("assessment/", views.ranking, name="ranking"),
    path("targets/", views.targets, name="targets"),
]
