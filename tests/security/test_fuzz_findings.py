"""What the fuzzing, the corpus and the permission matrix found, one named test per fix, so each
stays fixed even if the generated examples change."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from cityops.accounts import roles
from cityops.api.tests.keyclient import key_like
from cityops.api.tokens import token_issue
from cityops.cases.models import Case, CaseEvent
from tests.security.world import WEST

pytestmark = pytest.mark.django_db


def _bearer(user) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token_issue(user=user).token}"}


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# schemathesis: GET /api/v1/cases?created_from=0001-01-01 was a 500 (OverflowError shifting year 1 to UTC).
@pytest.mark.parametrize("params", [{"created_from": "0001-01-01"}, {"created_to": "9999-12-31"}])
def test_a_date_filter_out_of_range_is_a_400_not_a_500(world, params):
    operator = world.users[roles.OPERATOR]
    api = Client().get("/api/v1/cases", params, **_bearer(operator))
    assert api.status_code == 400 and api.json()["code"] == "validation_error"
    assert Client().get("/api/v1/exports/cases", params, **_bearer(operator)).status_code == 400
    assert _signed_in(operator).get(reverse("intake:case_export", args=["csv"]), params).status_code == 400
    page = _signed_in(operator).get(reverse("cases:list"), params)
    assert page.status_code == 200 and "日期须在" in page.content.decode()


# corpus: a body over DATA_UPLOAD_MAX_MEMORY_SIZE on a ninja-parsed endpoint was a 500.
def test_a_body_over_the_upload_limit_is_a_json_413(world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = json.dumps({"description": "长" * 2000, "lon": WEST[0], "lat": WEST[1]}, ensure_ascii=False)
    response = Client().post("/api/v1/cases", body, content_type="application/json", **_bearer(world.users[roles.SYSTEM]))
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


# corpus: 10,000-deep JSON on the endpoints that read their own body (city ingest, alarms) was a 500.
@pytest.mark.parametrize("path", ["/api/v1/intake/city", "/api/v1/intake/alarm", "/api/v1/cases"])
def test_json_nested_too_deep_is_a_400(world, path):
    body = "[" * 10_000 + "]" * 10_000
    response = Client().post(path, body, content_type="application/json", **_bearer(world.users[roles.SYSTEM]))
    assert response.status_code == 400
    assert response.json()["code"] in ("invalid_json", "bad_request")


# corpus: NUL characters were stored through the API (and are a 500 on PostgreSQL, which cannot store them).
@pytest.mark.parametrize(("path", "body"), [
    ("/api/v1/cases", {"description": "井盖\x00缺失", "lon": WEST[0], "lat": WEST[1], "category": "E9901"}),
    ("/api/v1/intake/city", {"order_no": "N1", "description": "井盖\x00缺失"}),
    ("/api/v1/intake/city", [{"order_no": "N2", "description": "井盖缺失", "address": "东关\x00大街"}]),
])
def test_nul_characters_in_api_bodies_are_refused_and_nothing_is_stored(world, path, body):
    before = (Case.objects.count(), CaseEvent.objects.count())
    response = Client().post(path, json.dumps(body), content_type="application/json", **_bearer(world.users[roles.SYSTEM]))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_characters"
    assert (Case.objects.count(), CaseEvent.objects.count()) == before


def test_nul_characters_in_an_action_note_are_refused(world):
    case = world.case_a
    before = CaseEvent.objects.filter(case=case).count()
    response = Client().post(f"/api/v1/cases/{case.number}/actions/urge", json.dumps({"note": "催\x00办"}),
                             content_type="application/json", **_bearer(world.users[roles.DISPATCHER]))
    assert response.status_code == 400
    assert CaseEvent.objects.filter(case=case).count() == before


def test_nul_characters_in_an_open311_request_are_refused(world):
    key = key_like(world.users[roles.SYSTEM], "open311-nul").key
    before = Case.objects.count()
    response = Client().post("/open311/v2/requests.json", {"api_key": key, "service_code": "E9901", "lat": WEST[1],
                                                           "long": WEST[0], "description": "井盖\x00缺失"})
    assert response.status_code == 400
    assert "NUL" in response.json()[0]["description"]
    assert Case.objects.count() == before


# corpus: API and Open311 JSON carried a stored "<script>" verbatim; now <, > and & are \u-escaped.
def test_json_answers_escape_markup_but_keep_the_exact_text(world):
    text = "<script>alert(1)</script> & more"
    system = world.users[roles.SYSTEM]
    created = Client().post("/api/v1/cases", json.dumps({"description": text, "lon": WEST[0], "lat": WEST[1], "category": "E9901"}),
                            content_type="application/json", **_bearer(system))
    assert created.status_code == 201
    assert "<script>" not in created.content.decode() and "\\u003cscript\\u003e" in created.content.decode()
    assert created.json()["description"] == text
    number = created.json()["number"]
    # Open311 publishes a case once registered (立案), issue 14.
    Case.objects.filter(number=number).update(status="registered", registered_at=Case.objects.get(number=number).created_at)
    detail = Client().get(f"/open311/v2/requests/{number}.json")
    assert "<script>" not in detail.content.decode()
    assert detail.json()[0]["description"] == text


# matrix: RoutingSettingsAdmin.has_add_permission ignored the user: any staff account (the auditor,
# the security administrator) could create the auto-dispatch settings while none existed.
# The system administrator holds the permission (routing/plugin.py); the others do not.
@pytest.mark.parametrize(("role", "status"), [(roles.SYSADMIN, 200), (roles.SECADMIN, 403), (roles.AUDITOR, 403)])
def test_only_holders_of_the_permission_may_add_the_routing_settings(world, role, status):
    from cityops.routing.models import RoutingSettings

    RoutingSettings.objects.all().delete()
    response = _signed_in(world.users[role]).get(reverse("admin:routing_routingsettings_add"))
    assert response.status_code == status


# corpus: a zip bomb named .xlsx was accepted by the import form (the job failed later); now the form refuses it.
def test_a_zip_bomb_import_is_refused_by_the_form(world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.security.payloads import zip_bomb as _zip_bomb

    upload = SimpleUploadedFile("bomb.xlsx", _zip_bomb(), content_type="application/octet-stream")
    response = _signed_in(world.users[roles.OPERATOR]).post(reverse("intake:import"), {"file": upload})
    assert response.status_code == 400
    assert "压缩" in response.content.decode() or "解压" in response.content.decode()


# corpus on PostgreSQL: a 5,000-character username on the login forms was a 500 (django-axes
# recorded it into its 255-character column); now it is an ordinary failed login.
@pytest.mark.parametrize("url_name", ["web:login", "admin:login"])
def test_an_overlong_username_is_a_failed_login_not_a_500(world, url_name):
    from axes.models import AccessAttempt

    client = Client()
    response = client.post(reverse(url_name), {"username": "A" * 5000, "password": "x"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.filter(username="A" * 255).exists()
