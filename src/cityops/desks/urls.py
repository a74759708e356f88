from django.urls import path

from cityops.desks import views

app_name = "cases"

urlpatterns = [
    path("desk/operator/", views.desk_operator, name="desk_operator"),
    path("desk/operator/suggest/", views.suggest_categories, name="suggest_categories"),
    path("desk/dispatcher/", views.desk_dispatcher, name="desk_dispatcher"),
    path("desk/department/", views.desk_department, name="desk_department"),
    path("desk/leader/", views.desk_leader, name="desk_leader"),
    path("cases/", views.case_list_view, name="list"),
    path("cases/<str:number>/", views.case_detail, name="detail"),
    path("cases/<str:number>/actions/<str:action>/", views.case_action, name="action"),
    path("cases/<str:number>/reporter/", views.reporter_reveal_view, name="reporter_reveal"),
    path("cases/<str:number>/attachments/<int:pk>/", views.attachment_file, name="attachment"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/count/", views.notification_count, name="notification_count"),
    path("notifications/read/", views.notification_mark_read, name="notifications_read"),
    path("notifications/<int:pk>/open/", views.notification_open, name="notification_open"),
]
