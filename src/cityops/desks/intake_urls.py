from django.urls import path

from cityops.desks.intake_pages import citizen, department, exports, imports, inspector, maps

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
    # departments (phone)
    path("m/dept/", department.desk, name="dept_desk"),
    path("m/dept/<str:number>/", department.task, name="dept_task"),
    path("m/dept/<str:number>/<str:action>/", department.act, name="dept_action"),
    # bulk import (operators) and exports of the case list
    path("import/", imports.import_page, name="import"),
    path("import/template.<str:fmt>", imports.import_template, name="import_template"),
    path("import/jobs/<str:job_id>/", imports.import_job, name="import_job"),
    path("import/jobs/<str:job_id>/errors.csv", imports.import_errors, name="import_errors"),
    path("export/cases.<str:fmt>", exports.case_export_view, name="case_export"),
]
