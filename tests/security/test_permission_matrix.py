"""The permission matrix (等保 2.0 访问控制): every page, API operation and admin route declares
who may use it, and each route is run for anonymous and for every role.

`PAGES` and `API` are the declarations, read from the views' decorators and permission checks
(`accounts.roles`, `cases.permissions`, `analytics.permissions`, `assessment.access`,
`intake.exports.can_export`, the API's `_check*` functions). Admin routes follow the model
permissions of `accounts.roles.ROLE_PERMISSIONS`, narrowed where a ModelAdmin refuses an
operation to everyone. A route missing from the declarations fails the test, so every new view
must state its permission here.

Allowed → anything but 401/403, a redirect to a login page or a 5xx. Refused → 401/403 or a
redirect to the login page (never 2xx, never 5xx); where the route shows one object found
through the user's scope, "not found" (404) is also a refusal, as `cases.permissions` intends.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client, RequestFactory
from django.urls import reverse

from cityops.accounts import roles as r
from cityops.accounts.roles import ROLE_PERMISSIONS
from cityops.api.tokens import token_issue
from tests.security.routes import Route, api_operations, api_pattern_paths, url_routes
from tests.security.world import ANONYMOUS, PRINCIPALS, ROLE_CODES, WEST, World

pytestmark = pytest.mark.django_db

EVERYONE = frozenset(PRINCIPALS)
SIGNED_IN = frozenset(ROLE_CODES)
NOBODY: frozenset[str] = frozenset()
CASE_ROLES = frozenset({r.OPERATOR, r.DISPATCHER, r.DEPARTMENT, r.INSPECTOR, r.LEADER})
STATS = frozenset({r.LEADER, r.DISPATCHER, r.OPERATOR})  # analytics.permissions.STATS_ROLES
ASSESSMENT = frozenset({r.LEADER, r.DISPATCHER})  # assessment.access.READER_ROLES
REPORTS = STATS & ASSESSMENT  # analytics.permissions.can_view_reports: the reports carry assessment scores
EXPORTERS = frozenset({*CASE_ROLES, r.SYSTEM})  # holders of cases.view_case
STAFF = frozenset(code for code, role in r.ROLES.items() if role.staff)
# Who sees case A (system-created, west grid, dispatched to department A): cases_visible_to.
SEES_CASE_A = frozenset({r.OPERATOR, r.DISPATCHER, r.LEADER, r.DEPARTMENT, r.INSPECTOR, r.SYSTEM})


@dataclass(frozen=True)
class Rule:
    allowed: frozenset[str]
    method: str = "GET"
    scoped: bool = False  # the route looks one object up in the user's scope: 404 is a refusal
    kwargs: Callable[[World, str], dict[str, Any]] | None = None
    query: dict[str, str] = field(default_factory=dict)
    body: Callable[[World], Any] | None = None  # JSON body (API) or form data (pages)
    gate_only: bool = False  # only the gate is checked (admin login); beyond it any answer < 500
    login_ok: bool = False  # its normal answer is a sign-in page (logout, second-factor verify)


def _case_a(w: World, _p: str) -> dict:
    return {"number": w.case_a.number}


def _api_case_body(w: World) -> dict:
    return {"type": "complaint", "description": "权限矩阵：路面坑洼", "lon": WEST[0], "lat": WEST[1], "category": "E9901"}


# ---------------------------------------------------------------- pages (root URLconf)

PAGES: dict[str, Rule] = {
    "favicon.ico": Rule(EVERYONE),
    # Re-encoded public photos only (the originals are under cases/, outside this route's root).
    "public_media": Rule(EVERYONE, kwargs=lambda w, _p: {"path": "2026/11/none.jpg"}),
    "set_language": Rule(EVERYONE, method="POST", body=lambda w: {"language": "zh-hans"}),
    "ops:healthz": Rule(EVERYONE),
    "ops:readyz": Rule(EVERYONE),
    # Exists only with CITYOPS_BENCHMARK_ENDPOINTS: a 404 for everyone otherwise.
    "ops:bench_insert": Rule(NOBODY, method="POST", scoped=True),
    "cases:desk_operator": Rule(frozenset({r.OPERATOR})),
    "cases:suggest_categories": Rule(frozenset({r.OPERATOR}), query={"description": "井盖"}),
    "cases:desk_dispatcher": Rule(frozenset({r.DISPATCHER})),
    "cases:desk_department": Rule(frozenset({r.DEPARTMENT})),
    "cases:desk_leader": Rule(frozenset({r.LEADER})),
    "cases:list": Rule(CASE_ROLES),
    "cases:detail": Rule(SEES_CASE_A, scoped=True, kwargs=_case_a),
    "cases:action": Rule(SEES_CASE_A, scoped=True, kwargs=lambda w, p: {"number": w.case_a.number, "action": "sign"}),
    "cases:attachment": Rule(SEES_CASE_A, scoped=True,
                             kwargs=lambda w, p: {"number": w.case_a.number, "pk": w.attachment_a.pk}),
    "cases:notifications": Rule(SIGNED_IN),
    "cases:notification_count": Rule(SIGNED_IN),
    "cases:notifications_read": Rule(SIGNED_IN, method="POST", body=lambda w: {"all": "1"}),
    # Each user opens a notification of their own (someone else's is a 404).
    "cases:notification_open": Rule(SIGNED_IN, scoped=True,
                                    kwargs=lambda w, p: {"pk": w.notifications.get(p, 0)}),
    "analytics:dashboard": Rule(STATS),
    "analytics:bigscreen": Rule(STATS),
    "analytics:reports": Rule(REPORTS),
    "analytics:report_generate": Rule(REPORTS, query={"kind": "weekly", "format": "xlsx"}),
    # A stored report file: an absent one is a 404 for those allowed, the gate refuses the others first.
    "analytics:report_file": Rule(REPORTS, kwargs=lambda w, p: {"name": "report.css"}),
    "assessment:ranking": Rule(ASSESSMENT),
    "assessment:targets": Rule(ASSESSMENT),
    "intake:regions_geojson": Rule(EVERYONE),
    "intake:locate": Rule(EVERYONE, query={"lon": str(WEST[0]), "lat": str(WEST[1])}),
    "intake:report": Rule(EVERYONE),
    "intake:report_done": Rule(EVERYONE),
    "intake:track": Rule(EVERYONE),
    "intake:rate": Rule(EVERYONE, method="POST", body=lambda w: {"code": "nonexistent"}),
    "intake:inspector_home": Rule(frozenset({r.INSPECTOR})),
    "intake:inspector_tasks": Rule(frozenset({r.INSPECTOR})),
    "intake:inspector_task": Rule(frozenset({r.INSPECTOR}), kwargs=lambda w, p: {"number": w.case_responded.number}),
    "intake:inspector_mine": Rule(frozenset({r.INSPECTOR})),
    # The department's phone desk: its own department's cases only (another's is a 404).
    "intake:dept_desk": Rule(frozenset({r.DEPARTMENT})),
    "intake:dept_task": Rule(frozenset({r.DEPARTMENT}), scoped=True, kwargs=_case_a),
    "intake:dept_action": Rule(frozenset({r.DEPARTMENT}), method="POST", scoped=True,
                               kwargs=lambda w, p: {"number": w.case_a.number, "action": "sign"},
                               body=lambda w: {"version": w.case_a.version}),
    "intake:import": Rule(frozenset({r.OPERATOR})),
    "intake:import_template": Rule(frozenset({r.OPERATOR}), kwargs=lambda w, p: {"fmt": "csv"}),
    "intake:import_job": Rule(frozenset({r.OPERATOR}), kwargs=lambda w, p: {"job_id": "0123abcd"}),
    "intake:import_errors": Rule(frozenset({r.OPERATOR}), kwargs=lambda w, p: {"job_id": "0123abcd"}),
    "intake:case_export": Rule(EXPORTERS, kwargs=lambda w, p: {"fmt": "csv"}),
    # Reveal the reporter's name and phone (recorded): roles holding cases.view_personal_data, in scope.
    "cases:reporter_reveal": Rule(frozenset({r.OPERATOR, r.DISPATCHER}), method="POST", scoped=True, kwargs=_case_a),
    # Each user's own account security pages (password, TOTP second factor).
    "accounts:security": Rule(SIGNED_IN),
    "accounts:password_change": Rule(SIGNED_IN),
    "accounts:otp_setup": Rule(SIGNED_IN),
    "accounts:otp_verify": Rule(SIGNED_IN, login_ok=True),  # without a device it sends on to setup
    "accounts:otp_disable": Rule(SIGNED_IN, method="POST"),
    # One-time codes for a first binding of the second factor: the security administrator only.
    "accounts:otp_enrolment_codes": Rule(frozenset({r.SECADMIN})),
    "web:home": Rule(SIGNED_IN),
    "web:login": Rule(EVERYONE),
    "web:logout": Rule(EVERYONE, method="POST", login_ok=True),
    # The API's own pages: index, the OpenAPI document and its viewer are public; unknown paths 404.
    "api-v1:api-root": Rule(EVERYONE),
    "api-v1:openapi-json": Rule(EVERYONE),
    "api-v1:openapi-view": Rule(EVERYONE),
    "api-v1:unknown": Rule(NOBODY, scoped=True, kwargs=None),
    # Open311 GeoReport v2 is public by design (no personal data; see api/open311.py); POST needs an API key.
    "open311:discovery": Rule(EVERYONE, kwargs=lambda w, p: {"fmt": "json"}),
    "open311:services": Rule(EVERYONE, kwargs=lambda w, p: {"fmt": "json"}),
    "open311:service_definition": Rule(EVERYONE, kwargs=lambda w, p: {"fmt": "json", "code": "E9901"}),
    "open311:requests": Rule(EVERYONE, kwargs=lambda w, p: {"fmt": "json"}),
    "open311:request": Rule(EVERYONE, kwargs=lambda w, p: {"fmt": "json", "request_id": w.case_a.number}),
    "open311:token": Rule(NOBODY, scoped=True, kwargs=lambda w, p: {"fmt": "json", "token": "nope"}),
    "open311:not_found": Rule(NOBODY, scoped=True, kwargs=lambda w, p: {"path": "nothing"}),
    # Django admin: the site's own pages are behind the staff gate.
    "admin:index": Rule(STAFF, gate_only=True),
    "admin:login": Rule(EVERYONE),
    "admin:logout": Rule(EVERYONE, method="POST", login_ok=True),
    "admin:password_change": Rule(STAFF, gate_only=True),
    "admin:password_change_done": Rule(STAFF, gate_only=True),
    "admin:autocomplete": Rule(STAFF, gate_only=True),
    "admin:jsi18n": Rule(STAFF, gate_only=True),
    "admin:view_on_site": Rule(STAFF, gate_only=True, scoped=True,
                               kwargs=lambda w, p: {"content_type_id": 1, "object_id": "1"}),
    "admin:app_list": Rule(frozenset({r.SYSADMIN, r.SECADMIN}), scoped=True, kwargs=lambda w, p: {"app_label": "accounts"}),
    "admin:auth_user_password_change": Rule(frozenset({r.SYSADMIN}), kwargs=lambda w, p: {"id": w.users[r.OPERATOR].pk}),
    "admin:audit_auditentry_verify": Rule(frozenset({r.AUDITOR})),
    # Unnamed admin patterns: the old-style object URL (redirects to the change page) and the catch-all.
    "admin:admin/(?P<url>.*)$": Rule(STAFF, gate_only=True),
    # The audit administrator's own pages (audit.views.auditor_required).
    "audit:list": Rule(frozenset({r.AUDITOR})),
    "audit:export": Rule(frozenset({r.AUDITOR})),
}

# ---------------------------------------------------------------- API operations (OpenAPI)

API: dict[str, Rule] = {
    # Public: the credentials decide (an empty body is a 400 for everyone).
    "POST /api/v1/auth/token": Rule(EVERYONE, method="POST", body=lambda w: {}),
    "DELETE /api/v1/auth/token": Rule(SIGNED_IN, method="DELETE"),
    "POST /api/v1/cases": Rule(frozenset({r.OPERATOR, r.INSPECTOR, r.SYSTEM}), method="POST", body=_api_case_body),
    "GET /api/v1/cases": Rule(SIGNED_IN),  # scope decides which rows (tests/security/test_scope.py)
    "GET /api/v1/cases/{number}": Rule(SEES_CASE_A, scoped=True, kwargs=_case_a),
    "GET /api/v1/cases/{number}/events": Rule(SEES_CASE_A, scoped=True, kwargs=_case_a),
    "POST /api/v1/cases/{number}/actions/{action}": Rule(
        frozenset({r.DEPARTMENT}), method="POST", scoped=True, body=lambda w: {},
        kwargs=lambda w, p: {"number": w.case_a.number, "action": "sign"},
    ),
    "GET /api/v1/categories": Rule(SIGNED_IN),
    "GET /api/v1/departments": Rule(SIGNED_IN),
    "POST /api/v1/intake/city": Rule(frozenset({r.OPERATOR, r.SYSTEM}), method="POST", body=lambda w: {}),
    "POST /api/v1/intake/alarm": Rule(frozenset({r.SYSTEM}), method="POST", body=lambda w: {}),
    "GET /api/v1/stats/assessment/indicators": Rule(ASSESSMENT),
    "GET /api/v1/stats/assessment/ranking": Rule(ASSESSMENT),
    "GET /api/v1/stats/assessment/targets": Rule(ASSESSMENT),
    "GET /api/v1/stats/dashboard": Rule(STATS),
    "GET /api/v1/stats/map": Rule(STATS),
    "GET /api/v1/stats/map/points": Rule(STATS),
    "GET /api/v1/stats/map/layers/{level}": Rule(STATS, kwargs=lambda w, p: {"level": "street"}),
    "GET /api/v1/stats/bigscreen": Rule(STATS),
    "GET /api/v1/stats/hot-issues": Rule(STATS),
    "GET /api/v1/stats/anomalies": Rule(STATS),
    "GET /api/v1/stats/targets": Rule(STATS),
    "GET /api/v1/exports/cases": Rule(EXPORTERS),
    "POST /api/v1/routing/predict": Rule(frozenset({r.OPERATOR, r.DISPATCHER, r.LEADER}), method="POST",
                                         body=lambda w: {"text": "井盖缺失"}),
    "GET /api/v1/routing/cases/{number}/proposal": Rule(frozenset({r.OPERATOR, r.DISPATCHER, r.LEADER}),
                                                        scoped=True, kwargs=_case_a),
}

# ---------------------------------------------------------------- admin model routes

ADMIN_VIEWS = {"changelist": "view", "add": "add", "change": "view", "history": "view", "delete": "delete",
               "config": "view", "qrcode": "view"}  # the last two: django-otp's TOTP device pages
ADMIN_OBJECT_URL = "<path:object_id>/"  # admin's unnamed redirect to the change page


def _admin_model_route(key: str) -> tuple[Any, str] | None:
    """(ModelAdmin, view) for `admin:<app>_<model>_<view>`, else None."""
    name = key.removeprefix("admin:")
    for model, model_admin in admin.site._registry.items():
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        if name.startswith(prefix) and name[len(prefix):] in ADMIN_VIEWS:
            return model_admin, name[len(prefix):]
    return None


def _admin_rule(model_admin, view: str) -> Rule:
    """Who the role table lets in, unless the ModelAdmin refuses the operation even to a superuser."""
    opts = model_admin.model._meta
    verb = ADMIN_VIEWS[view]
    names = {f"{opts.app_label}.{verb}_{opts.model_name}"}
    if verb == "view":
        names.add(f"{opts.app_label}.change_{opts.model_name}")
    request = RequestFactory().get("/admin/")
    request.user = type("Root", (), {"is_active": True, "is_superuser": True, "is_staff": True,
                                     "has_perm": lambda self, *a: True, "has_perms": lambda self, *a: True})()
    anyone = {
        "add": lambda: model_admin.has_add_permission(request),
        "delete": lambda: model_admin.has_delete_permission(request),
        "view": lambda: model_admin.has_view_or_change_permission(request),
    }[verb]()
    allowed = frozenset(
        code for code in ROLE_CODES
        if anyone and r.ROLES[code].staff and names & set(ROLE_PERMISSIONS.get(code, []))
    )
    if view in ("config", "qrcode") and getattr(settings, "OTP_ADMIN_HIDE_SENSITIVE_DATA", False):
        allowed = NOBODY  # django-otp then refuses the device secrets to everyone
    if view not in ("change", "history", "delete", "config", "qrcode"):
        return Rule(allowed)
    name = "pk" if view in ("config", "qrcode") else "object_id"
    if model_admin.model._meta.label == "otp_totp.TOTPDevice":  # made by the probe itself (see below)
        return Rule(allowed, kwargs=lambda w, p: {name: str(_totp_device(w).pk)})
    obj = model_admin.model._default_manager.order_by("pk").first()
    # Without a row, change and delete still check the permission first (then say "not found");
    # history looks the row up first, so only its gate can be checked.
    object_id = str(obj.pk) if obj is not None else "0"
    if obj is None and view not in ("change", "delete"):
        return Rule(STAFF, kwargs=lambda w, p: {name: object_id}, gate_only=True)
    return Rule(allowed, kwargs=lambda w, p: {name: object_id})


def _totp_device(w: World):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    # Someone else's device: a device of one's own puts the second-factor gate before every page.
    return TOTPDevice.objects.get_or_create(user=w.users[r.OPERATOR], name="矩阵测试设备")[0]


def rule_for(route: Route) -> Rule | None:
    if route.key in PAGES:
        return PAGES[route.key]
    if route.key in API:
        return API[route.key]
    if route.key.startswith("admin:") and route.key.endswith(ADMIN_OBJECT_URL):
        return Rule(STAFF, gate_only=True)
    found = _admin_model_route(route.key) if route.key.startswith("admin:") else None
    return _admin_rule(*found) if found else None


ALL_ROUTES = url_routes() + api_operations()


def test_every_route_declares_who_may_use_it():
    missing = [f"{route.key}  ({route.pattern})" for route in ALL_ROUTES if rule_for(route) is None]
    assert not missing, "routes without a permission declaration in tests/security/test_permission_matrix.py:\n" + "\n".join(missing)


def test_no_declaration_is_left_over_from_a_removed_route():
    keys = {route.key for route in ALL_ROUTES}
    stale = sorted((set(PAGES) | set(API)) - keys)
    assert not stale, f"declared routes that no longer exist: {stale}"


def test_every_api_url_pattern_is_an_operation_of_the_openapi_document():
    documented = {route.pattern for route in api_operations()}
    assert api_pattern_paths() <= documented


# ---------------------------------------------------------------- running the matrix


def _login_redirect(response) -> bool:
    if response.status_code not in (301, 302):
        return False
    location = response["Location"]
    # The sign-in gates: the login pages, and the second factor / forced password change after them.
    gates = [reverse("web:login"), reverse("admin:login")]
    gates += [reverse(name) for name in ("accounts:otp_verify", "accounts:otp_setup", "accounts:password_change")
              if name in SIGN_IN_GATES]
    return location.startswith(tuple(gates))


SIGN_IN_GATES = {route.key for route in url_routes()}


def _url(route: Route, rule: Rule, world: World, principal: str) -> str:
    if route.key.startswith(("GET ", "POST ", "DELETE ", "PUT ", "PATCH ")):
        path = route.pattern
        for name, value in (rule.kwargs(world, principal) if rule.kwargs else {}).items():
            path = path.replace("{" + name + "}", str(value))
        return path
    if route.key == "api-v1:unknown":
        return "/api/v1/no-such-endpoint"
    if route.key.endswith(ADMIN_OBJECT_URL):
        return "/" + route.pattern.replace(ADMIN_OBJECT_URL, "1/")
    if ":" not in route.key:  # unnamed, outside any namespace
        return "/" + route.pattern
    if route.key == "admin:admin/(?P<url>.*)$":
        return "/admin/no-such-page/"
    return reverse(route.key, kwargs=rule.kwargs(world, principal) if rule.kwargs else None)


@dataclass(frozen=True)
class Credentials:
    session_cookie: str | None
    token: str | None


@pytest.fixture(scope="module")
def credentials(world, django_db_blocker) -> dict[str, Credentials]:
    """A signed-in session and an API token per role, made once (inside the module's transaction)."""
    out = {ANONYMOUS: Credentials(None, None)}
    with django_db_blocker.unblock():
        for principal in ROLE_CODES:
            client = Client()
            client.force_login(world.user(principal))
            out[principal] = Credentials(client.cookies[settings.SESSION_COOKIE_NAME].value,
                                         token_issue(user=world.user(principal)).token)
    return out


def _call(route: Route, rule: Rule, world: World, principal: str, credentials: Credentials):
    client = Client()
    url = _url(route, rule, world, principal)
    body = rule.body(world) if rule.body else None
    is_api = url.startswith("/api/v1/") and route.key[0].isupper()
    headers: dict[str, str] = {}
    if is_api and credentials.token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {credentials.token}"
    elif credentials.session_cookie:
        client.cookies[settings.SESSION_COOKIE_NAME] = credentials.session_cookie
    method = getattr(client, rule.method.lower())
    if is_api and rule.method in ("POST", "PUT", "PATCH"):
        return method(url, data=json.dumps(body if body is not None else {}), content_type="application/json", **headers)
    if rule.method == "GET":
        return method(url, rule.query, **headers)
    return method(url, body or {}, **headers)


def _verdict(response, *, allowed: bool, rule: Rule) -> str | None:
    status = response.status_code
    if status >= 500:
        return f"server error {status}"
    refused = status in (401, 403) or _login_redirect(response) or (rule.scoped and status == 404)
    if allowed and (rule.login_ok or rule.gate_only):
        return None if rule.login_ok or not _login_redirect(response) else "refused at the gate"
    if allowed:
        if status in (401, 403) or _login_redirect(response):
            return f"refused ({status} {response.get('Location', '')})"
        return None
    if rule.gate_only:
        return None if _login_redirect(response) or status in (401, 403) else f"passed the gate ({status})"
    if not refused:
        return f"reachable ({status} {response.get('Location', '')})"
    return None


@pytest.mark.parametrize("route", ALL_ROUTES, ids=[route.key for route in ALL_ROUTES])
def test_route_answers_each_role_as_declared(world, credentials, route):
    rule = rule_for(route)
    if rule is None:
        pytest.fail(f"{route.key} has no declaration (see test_every_route_declares_who_may_use_it)")
    problems = []
    for principal in PRINCIPALS:
        # Each probe rolls back what it wrote, so every role meets the same state.
        with transaction.atomic():
            response = _call(route, rule, world, principal, credentials[principal])
            transaction.set_rollback(True)
        problem = _verdict(response, allowed=principal in rule.allowed, rule=rule)
        if problem:
            problems.append(f"{principal}: {problem} — expected {'allowed' if principal in rule.allowed else 'refused'}")
    assert not problems, f"{route.key} ({route.pattern}):\n" + "\n".join(problems)


def test_the_role_groups_hold_exactly_the_declared_permissions(world):
    """The matrix trusts ROLE_PERMISSIONS for the admin; the groups must really hold them."""
    for code in ROLE_CODES:
        group = Group.objects.get(name=code)
        held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}
        assert held == set(ROLE_PERMISSIONS[code]), code


# ---------------------------------------------------------------- admin writes by the administrators (三员分立)

ADMIN_ROLE_CODES = [r.SYSADMIN, r.SECADMIN, r.AUDITOR]


def _holds(code: str, perm: str) -> bool:
    return perm in ROLE_PERMISSIONS.get(code, [])


@pytest.mark.parametrize("code", ADMIN_ROLE_CODES)
def test_admin_writes_by_each_admin_role(world, code):
    """Issuing an API key, creating a webhook subscription and editing a group's permissions,
    tried by each administrator role: the admin answers as the role table says, and whoever
    may edit groups still cannot give its own (or any admin) group a business permission,
    nor mint a business-role key."""
    from django.contrib.auth.models import Permission

    from cityops.accounts.selectors import role_group
    from cityops.api.models import ApiKey

    person = world.users[code]
    client = Client()
    client.force_login(person)
    with transaction.atomic():
        # API keys: a new service account of role system, never a person's account or a business role.
        response = client.post(reverse("admin:api_apikey_add"),
                               {"name": f"矩阵-{code}", "user": world.users[r.OPERATOR].pk, "role": r.LEADER})
        assert response.status_code < 500
        key = ApiKey.objects.filter(name=f"矩阵-{code}").select_related("user").first()
        if _holds(code, "api.add_apikey"):
            assert key is not None and key.user.is_service_account and key.user.role_codes == {r.SYSTEM}
        else:
            assert response.status_code == 403 and key is None
        # Webhook subscriptions: only the role the table gives them to reaches the form.
        response = client.get(reverse("admin:api_webhooksubscription_add"))
        assert (response.status_code == 200) == _holds(code, "api.add_webhooksubscription"), response.status_code
        assert response.status_code in (200, 403)
        # Group edits: adding case permissions to the role's own group is refused for everyone.
        group = role_group(code)
        wanted = [*group.permissions.values_list("pk", flat=True),
                  Permission.objects.get(content_type__app_label="cases", codename="view_all_cases").pk]
        response = client.post(reverse("admin:auth_group_change", args=[group.pk]), {"name": group.name, "permissions": wanted})
        if _holds(code, "auth.change_group"):
            assert response.status_code == 200 and "三员分立" in response.content.decode()
        else:
            assert response.status_code == 403
        assert not group.permissions.filter(codename="view_all_cases").exists()
        transaction.set_rollback(True)
