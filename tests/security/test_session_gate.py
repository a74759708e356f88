"""One authentication path (等保 2.0 身份鉴别): every URL pattern of the root URLconf and every
API operation, asked by a session that has not passed the second factor, or that sat idle past
the limit, is refused — pages with a redirect to the second-factor or login page (htmx with
HX-Redirect), the API with a JSON 401/403 and a `code` — except the allow-list below.

The routes come from Django's URL resolver (tests/security/routes.py), so a new view is walked
the day it is added; path parameters are filled with an existing object or a dummy (the gate
answers before any view runs).
"""

from __future__ import annotations

import re
import time

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from cityops.accounts import roles as r
from cityops.accounts.sessions import LAST_ACTIVITY_KEY
from tests.security.routes import Route, api_operations, url_routes
from tests.security.world import World

pytestmark = pytest.mark.django_db

OTP_ROLES = [r.SYSADMIN, r.SECADMIN, r.AUDITOR, r.LEADER]
TWO_HOURS = 2 * 3600

# Reachable without a complete session: signing in and out, the second factor itself, static
# and public files, health probes, the citizens' pages, Open311 (its own keys) and the language switch.
ALLOWED = {
    "favicon.ico", "public_media", "set_language", "ops:healthz", "ops:readyz",
    "web:login", "web:logout", "admin:login", "admin:logout",
    "accounts:otp_setup", "accounts:otp_verify",
    "intake:report", "intake:report_done", "intake:track", "intake:rate", "intake:regions_geojson", "intake:locate",
    "POST /api/v1/auth/token",
}
ALLOWED_PREFIXES = ("open311:",)

PAGE_ROUTES = url_routes()
API_ROUTES = api_operations()
WALKED = [route for route in PAGE_ROUTES + API_ROUTES
          if route.key not in ALLOWED and not route.key.startswith(ALLOWED_PREFIXES)]
PARAM = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)|\{(\w+)\}")


def _value(name: str, world: World) -> str:
    return {
        "number": world.case_a.number, "request_id": world.case_a.number, "action": "sign",
        "pk": str(world.attachment_a.pk), "fmt": "csv", "level": "street", "code": "E9901",
        "job_id": "0123abcd", "name": "report.xlsx", "app_label": "accounts", "content_type_id": "1",
        "id": str(world.users[r.OPERATOR].pk), "object_id": "1", "path": "x", "url": "no-such-page/",
        "token": "nope",
    }.get(name, "1")


def _path(route: Route, world: World) -> str:
    names = [next(g for g in m.groups() if g) for m in PARAM.finditer(route.pattern)]
    values = {name: _value(name, world) for name in names}
    if route.key[0].isupper():  # "GET /api/v1/…" with {param}
        return PARAM.sub(lambda m: values[next(g for g in m.groups() if g)], route.pattern)
    if route.key == "api-v1:unknown":
        return "/api/v1/no-such-endpoint"
    if ":" in route.key and not route.key.split(":", 1)[1].startswith(("admin/", "^")):
        try:
            return reverse(route.key, kwargs=values or None)
        except NoReverseMatch:
            pass
    # Unnamed patterns: substitute the parameters into the pattern itself.
    return "/" + PARAM.sub(lambda m: values[next(g for g in m.groups() if g)], route.pattern).lstrip("^").rstrip("$")


def _methods(route: Route) -> list[str]:
    return [route.key.split(" ", 1)[0]] if route.key[0].isupper() else ["GET", "POST"]


def _call(client: Client, method: str, path: str, **headers):
    call = getattr(client, method.lower())
    if method in ("POST", "PUT", "PATCH") and path.startswith("/api/"):
        return call(path, data="{}", content_type="application/json", **headers)
    return call(path, **headers)


def _refused(response, *, is_api: bool, page_gate: str, api_codes: set[str]) -> str | None:
    """None when the answer is the expected refusal, else what was wrong with it."""
    status = response.status_code
    if is_api:
        if status not in (401, 403):
            return f"API answered {status}"
        try:
            code = response.json().get("code")
        except ValueError:
            return f"API answered {status} without JSON"
        return None if code in api_codes else f"API refused with code {code!r}"
    if status in (301, 302) and response["Location"].startswith(page_gate):
        return None
    if status == 204 and not response.content:  # a background poll of a pending session: nothing
        return None
    return f"page answered {status} {response.get('Location', '')}"


@pytest.fixture
def enforced(settings):
    settings.OTP_REQUIRED_ROLES = list(OTP_ROLES)
    return settings


def test_the_walk_covers_pages_admin_api_and_stats():
    keys = {route.key for route in WALKED}
    assert {"cases:list", "intake:case_export", "cases:attachment", "analytics:report_file",
            "admin:index", "GET /api/v1/stats/dashboard", "GET /api/v1/stats/bigscreen",
            "GET /api/v1/stats/map/points", "GET /api/v1/stats/hot-issues",
            "GET /api/v1/stats/assessment/ranking", "GET /api/v1/exports/cases"} <= keys
    assert len(WALKED) > 250


@pytest.mark.parametrize("route", WALKED, ids=[route.key for route in WALKED])
def test_a_password_only_session_of_an_otp_role_is_refused_everywhere(world, enforced, route):
    client = Client()
    client.force_login(world.users[r.LEADER])  # no device, nothing verified: the password alone
    path = _path(route, world)
    problems = []
    for method in _methods(route):
        response = _call(client, method, path)
        problem = _refused(response, is_api=path.startswith("/api/"), page_gate=reverse("accounts:otp_setup"),
                           api_codes={"otp_enrolment_required"})
        if problem:
            problems.append(f"{method} {path}: {problem}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("route", WALKED, ids=[route.key for route in WALKED])
def test_an_idle_session_is_refused_everywhere(world, enforced, route):
    leader = world.users[r.LEADER]
    device = TOTPDevice.objects.create(user=leader, name="动态口令", confirmed=True)
    path = _path(route, world)
    problems = []
    for method in _methods(route):
        client = Client()
        client.force_login(leader)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id  # second factor passed
        session[LAST_ACTIVITY_KEY] = time.time() - TWO_HOURS
        session.save()
        response = _call(client, method, path)
        problem = _refused(response, is_api=path.startswith("/api/"), page_gate=reverse("web:login"),
                           api_codes={"session_expired"})
        if problem:
            problems.append(f"{method} {path}: {problem}")
        assert "_auth_user_id" not in client.session, f"{method} {path}: the idle session was not ended"
    assert not problems, "\n".join(problems)


def test_the_same_session_verified_and_active_reaches_the_statistics(world, enforced):
    """The control: the refusals above come from the gate, not from a broken session."""
    leader = world.users[r.LEADER]
    device = TOTPDevice.objects.create(user=leader, name="动态口令", confirmed=True)
    client = Client()
    client.force_login(leader)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session[LAST_ACTIVITY_KEY] = time.time() - 60
    session.save()
    for path in ("/api/v1/stats/dashboard", "/api/v1/stats/bigscreen", "/api/v1/stats/map/points",
                 "/api/v1/stats/hot-issues", "/api/v1/stats/assessment/ranking", "/dashboard/"):
        assert client.get(path).status_code == 200, path
