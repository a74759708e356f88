"""Rate limits outside the citizen pages: Open311 POST per address and per API key (429 in the
spec's error list), the API token endpoint (429 in our JSON envelope) and the login page
(429 with a Chinese page). The citizen pages' limits are tested in intake/tests/test_citizen.py."""

import json
import xml.etree.ElementTree as ET

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from cityops.accounts.tests.factories import UserFactory
from cityops.api.keys import apikey_issue
from cityops.api.tests.client import ApiClient
from cityops.cases.models import Case
from cityops.common import ratelimit
from cityops.common.tests.ratelimit_clock import FROZEN, frozen_ratelimit_clock
from cityops.testing.square import INSIDE

pytestmark = pytest.mark.django_db
OPEN311 = "/open311/v2/requests"


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


def open311_post(client, key, category, fmt="json", **extra):
    body = {"api_key": key, "service_code": category.code, "lat": INSIDE["lat"], "long": INSIDE["lon"],
            "description": "路边垃圾桶满溢"}
    return client.post(f"{OPEN311}.{fmt}", body, **extra)


@override_settings(CITYOPS_RATE_LIMITS={"open311_post_ip": (2, 3600), "open311_post_key": None})
def test_open311_posts_beyond_the_address_limit_get_the_spec_error_list_with_429(category, district):
    key = apikey_issue(name="市民App", role="system").key
    client = Client()
    assert open311_post(client, key, category).status_code == 200
    assert open311_post(client, key, category).status_code == 200
    response = open311_post(client, key, category)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    errors = json.loads(response.content)
    assert errors[0]["code"] == 429 and "请求过于频繁" in errors[0]["description"]
    # XML clients get the same refusal in XML.
    response = open311_post(client, key, category, fmt="xml")
    assert response.status_code == 429
    assert ET.fromstring(response.content).find("error/code").text == "429"
    assert Case.objects.count() == 2
    # Another address still gets through; reads are never throttled.
    assert open311_post(client, key, category, REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get(f"{OPEN311}.json").status_code == 200


@override_settings(CITYOPS_RATE_LIMITS={"open311_post_ip": None, "open311_post_key": (2, 3600)})
def test_open311_posts_beyond_the_key_limit_are_refused_from_any_address(category, district):
    busy = apikey_issue(name="批量推送", role="system").key
    other = apikey_issue(name="市民App", role="system").key
    client = Client()
    for address in ("10.0.0.1", "10.0.0.2"):
        assert open311_post(client, busy, category, REMOTE_ADDR=address).status_code == 200
    response = open311_post(client, busy, category, REMOTE_ADDR="10.0.0.3")
    assert response.status_code == 429
    assert json.loads(response.content)[0]["code"] == 429
    assert open311_post(client, other, category, REMOTE_ADDR="10.0.0.3").status_code == 200


@override_settings(CITYOPS_RATE_LIMITS={"open311_post_ip": None, "open311_post_key": (1, 3600)})
def test_invalid_keys_do_not_use_up_a_valid_keys_allowance(category, district):
    key = apikey_issue(name="市民App", role="system").key
    client = Client()
    for _ in range(3):
        assert open311_post(client, "cok_123456789abc_wrong", category).status_code == 403
    assert open311_post(client, key, category).status_code == 200


@override_settings(CITYOPS_RATE_LIMITS={"api_token": (2, 3600)})
def test_token_requests_beyond_the_limit_get_a_json_429(db):
    UserFactory(username="robot")
    client = ApiClient()
    for _ in range(2):
        assert client.post("/auth/token", {"username": "robot", "password": "wrong-password"}).status_code == 401
    response = client.post("/auth/token", {"username": "robot", "password": "wrong-password"})
    assert response.status_code == 429
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == "throttled" and "请求过于频繁" in body["message"]
    assert body["details"]["retry_after"] > 0


@override_settings(CITYOPS_RATE_LIMITS={"login": (3, 3600)})
def test_login_posts_beyond_the_limit_get_a_chinese_429_page(client):
    for i in range(3):
        # Different usernames: django-axes' per-account lockout never triggers here.
        assert client.post("/login/", {"username": f"user{i}", "password": "wrong-password"}).status_code == 200
    response = client.post("/login/", {"username": "user9", "password": "wrong-password"})
    assert response.status_code == 429
    assert "请求过于频繁" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    # Showing the form is not counted or refused.
    assert client.get("/login/").status_code == 200


def test_default_rates_come_from_the_settings_and_can_be_switched_off(settings, rf):
    settings.CITYOPS_RATE_LIMITS = {"report": "2/m", "track": None}
    request = rf.post("/report/", REMOTE_ADDR="192.0.2.7")
    with frozen_ratelimit_clock():
        assert ratelimit.hit(request, "report") and ratelimit.hit(request, "report")
        assert ratelimit.exceeded(request, "report")
        assert not ratelimit.hit(request, "report")
        assert all(ratelimit.hit(request, "track") for _ in range(100))
        assert ratelimit.rate_for("login") == ratelimit.DEFAULT_RATES["login"]
    with frozen_ratelimit_clock(FROZEN + 60):
        assert ratelimit.hit(request, "report")


def test_a_cache_outage_lets_requests_through(settings, rf, monkeypatch):
    settings.CITYOPS_RATE_LIMITS = {"report": "1/m"}
    monkeypatch.setattr(cache, "add", lambda *a, **k: False)
    monkeypatch.setattr(cache, "incr", lambda *a, **k: None)  # what ResilientRedisCache answers when Redis is down
    request = rf.post("/report/", REMOTE_ADDR="192.0.2.8")
    assert all(ratelimit.hit(request, "report") for _ in range(5))
