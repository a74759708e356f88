from django.urls import path

from cityops.intake.views import citizen, inspector, maps

app_name = "intake"

urlpatterns = [
    # map data (public)
    path("map/regions.geojson", maps.regions, name="regions_geojson"),
    path("map/locate/", maps.locate, name="locate"),
    # citizens (no login)
    path("report/", citizen.report, name="report"),
    path("report/done/", citizen.report_done, name="report_done"),
    path("track/", citizen.track, name="track"),
    path("track/rate/", citizen.rate, name="rate"),
    # inspectors (phone)
    path("m/", inspector.home, name="inspector_home"),
    path("m/tasks/", inspector.tasks, name="inspector_tasks"),
    path("m/tasks/<str:number>/", inspector.task, name="inspector_task"),
    path("m/mine/", inspector.mine, name="inspector_mine"),
]
