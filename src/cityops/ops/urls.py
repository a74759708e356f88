from django.urls import path

from cityops.ops import views

app_name = "ops"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("ops/bench/insert", views.bench_insert, name="bench_insert"),
]
