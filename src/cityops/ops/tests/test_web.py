"""Health checks, the benchmark-only endpoint, a database outage answered with 503, a Redis
outage that the web does not notice."""

import pytest
from django.db import OperationalError
from django.test import Client

from cityops.cases.models import Case, CaseEvent
from cityops.testing.square import case_body as report

pytestmark = pytest.mark.django_db


def test_health_endpoints():
    client = Client()
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok"


def test_the_benchmark_endpoint_exists_only_when_switched_on(settings):
    client = Client()
    settings.CITYOPS_BENCHMARK_ENDPOINTS = False
    assert client.post("/ops/bench/insert").status_code == 404
    settings.CITYOPS_BENCHMARK_ENDPOINTS = True
    assert client.post("/ops/bench/insert").status_code == 201


def test_an_unreachable_database_answers_503_json_on_the_api(operator_api, category, district, monkeypatch):
    from cityops.api import cases as api_cases

    def down(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(api_cases, "case_create", down)
    response = operator_api.post("/cases", report(category))
    assert response.status_code == 503
    assert response["Retry-After"]
    assert response.json()["code"] == "service_unavailable"


def test_an_unreachable_database_answers_503_html_on_pages(people, monkeypatch):
    from cityops.desks import views

    def down(*args, **kwargs):
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(views, "_filtered_list", down)
    client = Client()
    client.force_login(people["leader"])
    response = client.get("/cases/", HTTP_ACCEPT="text/html")
    assert response.status_code == 503
    assert "服务暂时不可用" in response.content.decode()


def test_cases_are_taken_while_the_redis_cache_is_unreachable(operator_api, category, district, settings):
    # Port 1 refuses connections: what the web sees while Redis is down.
    settings.CACHES = {"default": {"BACKEND": "cityops.ops.cache.ResilientRedisCache", "LOCATION": "redis://127.0.0.1:1/0",
                                   "OPTIONS": {"socket_connect_timeout": 0.2}}}
    from django.core.cache import cache

    for i in range(3):
        response = operator_api.post("/cases", report(category, description=f"井盖破损 {i}"))
        assert response.status_code == 201, response.content
    assert not cache.available
    assert cache.get("anything", "default") == "default"
    assert Case.objects.count() == 3
    assert CaseEvent.objects.filter(action="create").count() == 3
