"""Open311 GeoReport v2 at /open311/v2/ (included by config/urls.py)."""

from django.urls import re_path

from cityops.api import open311

app_name = "open311"

FMT = r"\.(?P<fmt>xml|json)$"

urlpatterns = [
    re_path(rf"^discovery{FMT}", open311.discovery, name="discovery"),
    re_path(rf"^services{FMT}", open311.services, name="services"),
    re_path(rf"^services/(?P<code>[^/]+?){FMT}", open311.service_definition, name="service_definition"),
    re_path(rf"^requests{FMT}", open311.requests, name="requests"),
    re_path(rf"^requests/(?P<request_id>[^/]+?){FMT}", open311.request_detail, name="request"),
    re_path(rf"^tokens/(?P<token>[^/]+?){FMT}", open311.token, name="token"),
    re_path(r"^(?P<path>.*)$", open311.not_found, name="not_found"),
]
