"""API keys of other systems: issuing, checking, revoking, and the log of every call.

A key is `cok_<prefix>_<secret>`. The prefix finds the row; only the SHA-256 digest of
the secret is stored, so the key is shown once, when it is issued. A key acts as its
service account: the account's role and department scope decide what the key may do,
exactly as for a person using the API.

三员分立 (docs/security.md, "API keys"): a key is bound only to a service account made by this
module (`User.is_service_account`), never to a person's account, and a key bound to anything
else is refused. The system administrator (admin) and the command line issue keys only for new
service accounts of role `system` (submit cases, read their own); a business role or scope on
a service account is given by the security administrator, as any role (user admin), so a
business-role key always needs two people. Issuing is audited with the issuer as actor, every
use with the service account as actor.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja.errors import AuthenticationError
from ninja.security import APIKeyHeader

from cityops.accounts import roles
from cityops.api.models import ApiCallLog, ApiKey

log = logging.getLogger("cityops.api")

KEY_PREFIX = "cok_"
HEADER = "X-API-Key"
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Roles a system may act as. Administrator roles (三员) are for people only.
KEY_ROLES = tuple(code for code in roles.ROLES if code not in roles.ADMIN_ROLES)
# Roles an issuer (admin form, command line) may give a new service account itself; any other
# role is assigned afterwards by the security administrator (two people, 三员分立).
ISSUER_ROLES = (roles.SYSTEM,)


class KeyRejected(Exception):
    """The key is malformed, unknown, revoked or its account is inactive."""

    def __init__(self, message: str, record: ApiKey | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.record = record


class KeyIssueError(ValueError):
    """A key cannot be issued as asked (unknown role, missing department, name taken…)."""


@dataclass(frozen=True)
class IssuedKey:
    key: str  # shown once, never stored
    record: ApiKey


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _service_username(name: str) -> str:
    base = "svc_" + (re.sub(r"[^\w.@+-]", "_", name.strip()) or "system")
    base = base[:140]
    User = get_user_model()
    username, n = base, 1
    while User.objects.filter(username=username).exists():
        n += 1
        username = f"{base}_{n}"
    return username


def service_account_create(*, name: str, role: str, department_code: str | None = None):
    """A user that cannot log in to the web pages, holding `role` (and the department scope)."""
    from cityops.accounts.selectors import role_group
    from cityops.accounts.services import roles_sync, user_set_roles
    from cityops.catalog.models import Department

    if role not in KEY_ROLES:
        raise KeyIssueError(f"角色无效：{role}；可选：{', '.join(KEY_ROLES)}")
    department = None
    if department_code:
        department = Department.objects.filter(code=department_code, active=True).first()
        if department is None:
            raise KeyIssueError(f"部门编码不存在或已停用：{department_code}")
    if role == roles.DEPARTMENT and department is None:
        raise KeyIssueError("部门处置人员角色须指定 --department。")
    User = get_user_model()
    user = User(username=_service_username(name), display_name=name[:64], department=department,
                is_service_account=True)
    user.set_unusable_password()
    user.save()
    if role_group(role) is None:
        roles_sync()  # a fresh database whose role groups were never synced
    user_set_roles(user=user, role_codes=[role])
    return user


def apikey_issue(*, name: str, user=None, role: str | None = None, department_code: str | None = None,
                 created_by: str = "", now: datetime | None = None, actor=None, issuer_rules: bool = False,
                 request=None) -> IssuedKey:
    """Issue a key for the service account `user`, or for a new service account with `role`.

    `actor` is the person issuing (the admin), `issuer_rules` applies the issuer's limits
    (admin and command line): a new service account of role `system` only. `user` must be a
    service account (never a person's account)."""
    if user is not None and not getattr(user, "is_service_account", False):
        raise KeyIssueError("API 密钥只能绑定服务账号，不能绑定个人账号。")
    if (actor is not None or issuer_rules) and user is None and role not in ISSUER_ROLES:
        raise KeyIssueError(
            f"签发密钥时只能新建“{roles.role_label(roles.SYSTEM)}”服务账号；"
            "业务角色由安全管理员在用户管理中为该服务账号分配（三员分立）。"
        )
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise KeyIssueError("名称不能为空，且不超过 64 个字符。")
    if ApiKey.objects.filter(name=name).exists():
        raise KeyIssueError(f"名称已被使用：{name}")
    now = now or timezone.now()
    with transaction.atomic():
        if user is None:
            if not role:
                raise KeyIssueError("请指定服务账号的角色（--role）。")
            user = service_account_create(name=name, role=role, department_code=department_code)
        prefix = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        try:
            with transaction.atomic():
                record = ApiKey.objects.create(
                    name=name, user=user, prefix=prefix, key_hash=_digest(secret), created_at=now,
                    created_by=created_by[:150],
                )
        except IntegrityError:
            raise KeyIssueError(f"名称已被使用：{name}") from None
        _audit_issue(record, actor=actor, created_by=created_by, request=request)
    return IssuedKey(key=f"{KEY_PREFIX}{prefix}_{secret}", record=record)


def _audit_issue(record: ApiKey, *, actor, created_by: str, request) -> None:
    """The issuer is the actor; the key and its service account are the object."""
    from cityops.audit.models import AuditAction
    from cityops.audit.services import audit_record

    user = record.user
    audit_record(
        action=AuditAction.ACCOUNT_CHANGE, actor=actor, actor_label="" if actor is not None else (created_by or "system"),
        target=f"apikey:{record.name}", request=request,
        details={"change": "api_key_issue", "key": record.name, "prefix": record.prefix,
                 "service_account": user.get_username(), "roles": sorted(user.role_codes)},
    )


def apikey_authenticate(raw: str | None, *, now: datetime | None = None) -> ApiKey:
    """The key's record (with its user) or KeyRejected (carrying the record when the prefix was known)."""
    now = now or timezone.now()
    raw = (raw or "").strip()
    if not raw.startswith(KEY_PREFIX):
        raise KeyRejected("API 密钥格式不正确。")
    prefix, sep, secret = raw[len(KEY_PREFIX):].partition("_")
    if not sep or not prefix or not secret or len(prefix) > 16:
        raise KeyRejected("API 密钥格式不正确。")
    record = ApiKey.objects.select_related("user").filter(prefix=prefix).first()
    if record is None or not hmac.compare_digest(record.key_hash, _digest(secret)):
        raise KeyRejected("API 密钥无效。")
    if record.revoked_at is not None:
        raise KeyRejected("API 密钥已吊销。", record)
    if not record.user.is_active:
        raise KeyRejected("API 密钥的服务账号已停用。", record)
    if not record.user.is_service_account:  # a key bound to a person (before the 三员 rule): never
        raise KeyRejected("API 密钥未绑定服务账号，已停用；请重新签发。", record)
    if record.last_used_at is None or now - record.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=record.pk).update(last_used_at=now)
        record.last_used_at = now
    return record


def apikey_find(name_or_prefix: str) -> ApiKey | None:
    value = (name_or_prefix or "").strip()
    if value.startswith(KEY_PREFIX):
        value = value[len(KEY_PREFIX):].partition("_")[0]
    return ApiKey.objects.filter(name=value).first() or ApiKey.objects.filter(prefix=value).first()


def apikey_revoke(*, record: ApiKey, now: datetime | None = None) -> bool:
    """Revoke the key; False when it was already revoked."""
    now = now or timezone.now()
    changed = ApiKey.objects.filter(pk=record.pk, revoked_at__isnull=True).update(revoked_at=now)
    record.refresh_from_db(fields=["revoked_at"])
    return bool(changed)


# ---------------------------------------------------------------- request authentication


def authenticate_request(request: HttpRequest, raw: str | None):
    """Check `raw` and make its service account the request's user; remember the key for the call log."""
    if not hasattr(request, "_api_call_started"):
        request._api_call_started = time.monotonic()
    try:
        record = apikey_authenticate(raw)
    except KeyRejected as exc:
        if exc.record is not None:
            request.api_key = exc.record
        raise
    request.api_key = record
    request.user = record.user
    return record.user


class ApiKeyAuth(APIKeyHeader):
    """`X-API-Key: cok_…`. Without the header the next scheme (bearer token) is tried."""

    param_name = HEADER

    def authenticate(self, request: HttpRequest, key: str | None):
        if not key:
            return None
        try:
            return authenticate_request(request, key)
        except KeyRejected as exc:
            raise AuthenticationError(401, exc.message) from None


api_key_auth = ApiKeyAuth()


def _client_ip(request: HttpRequest) -> str | None:
    ip = (request.META.get("REMOTE_ADDR") or "").strip()
    return ip or None


def log_call(request: HttpRequest, response: HttpResponse) -> None:
    """Write the call log row of a request made with an API key; never breaks the response."""
    record: ApiKey | None = getattr(request, "api_key", None)
    if record is None:
        return
    started = getattr(request, "_api_call_started", None)
    duration = int((time.monotonic() - started) * 1000) if started else 0
    try:
        ApiCallLog.objects.create(
            api_key=record, key_name=record.name, method=(request.method or "")[:8],
            path=request.get_full_path()[:300] if not request.GET.get("api_key") else request.path[:300],
            status_code=response.status_code, duration_ms=max(0, duration), ip=_client_ip(request),
        )
    except Exception:  # the log must never turn an answered call into an error
        log.exception("could not write the API call log for key %s", record.name)
        return
    try:
        audit_key_use(record, request, response.status_code)
    except Exception:
        log.exception("could not write the audit entry for key %s", record.name)


def audit_window() -> timedelta:
    return timedelta(minutes=max(1, int(settings.AUDIT_API_KEY_WINDOW_MINUTES)))


def audit_key_use(record: ApiKey, request: HttpRequest, status_code: int, *, now: datetime | None = None) -> bool:
    """Put the key's use into the audit trail: one entry per key per window, not one per call.

    Every call is in ApiCallLog (key name, path, status, address). An IoT platform may call
    many times a second, and every audit append takes the chain lock, so the tamper-evident
    trail gets a summary instead: the first call of each window writes an entry that counts
    the key's calls since its previous entry. True when an entry was written.
    """
    from cityops.audit.models import AuditAction, AuditEntry
    from cityops.audit.services import audit_record

    now = now or timezone.now()
    target = f"apikey:{record.name}"
    last = (
        AuditEntry.objects.filter(action=AuditAction.API_KEY_USE, target=target)
        .order_by("-created_at").values_list("created_at", flat=True).first()
    )
    if last is not None and now - last < audit_window():
        return False
    since = last or record.created_at
    calls = ApiCallLog.objects.filter(api_key=record, created_at__gt=since).count()
    audit_record(
        action=AuditAction.API_KEY_USE, actor=record.user, actor_label=record.name, target=target, request=request,
        details={
            "key": record.name, "prefix": record.prefix, "calls_since_previous_entry": calls,
            "since": since.isoformat(), "window_minutes": int(audit_window().total_seconds() // 60),
            "this_call": {"method": request.method, "path": request.path[:200], "status": status_code},
        },
        now=now,
    )
    return True


def with_call_log(view):
    """Wrap a view so that calls made with an API key are logged with the key's name."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        request._api_call_started = time.monotonic()
        response = view(request, *args, **kwargs)
        log_call(request, response)
        return response

    return wrapper
