"""Session rules (等保 2.0: 登录失败处理与超时自动退出): idle timeout and the optional single session."""

from __future__ import annotations

import time
from importlib import import_module

from django.conf import settings
from django.contrib.auth import logout

from cityops.accounts.models import User

LAST_ACTIVITY_KEY = "_cityops_last_activity"
# The stamp is rewritten at most this often, so most requests don't save the session.
STAMP_EVERY_SECONDS = 60

REASON_USER = "user"
REASON_IDLE = "idle_timeout"
REASON_REPLACED = "replaced_by_new_login"


def idle_limit_seconds() -> int:
    return int(settings.CITYOPS_SESSION_IDLE_MINUTES) * 60


def session_is_idle(request, *, now: float | None = None) -> bool:
    """True when the session saw no activity for longer than CITYOPS_SESSION_IDLE_MINUTES."""
    limit = idle_limit_seconds()
    last = request.session.get(LAST_ACTIVITY_KEY)
    if limit <= 0 or last is None:
        return False
    return (now or time.time()) - float(last) > limit


def session_touch(request, *, now: float | None = None) -> None:
    now = now or time.time()
    last = request.session.get(LAST_ACTIVITY_KEY)
    if last is None or now - float(last) >= STAMP_EVERY_SECONDS:
        request.session[LAST_ACTIVITY_KEY] = int(now)


def session_replaced(request) -> bool:
    """With CITYOPS_SINGLE_SESSION on: a later login of the same account has taken over."""
    if not settings.CITYOPS_SINGLE_SESSION:
        return False
    current = getattr(request.user, "current_session_key", "")
    return bool(current) and request.session.session_key != current


def session_claim(*, request, user: User) -> None:
    """Make this login the account's current session; with the single-session rule on, end
    the previous one in the session store as well (the middleware catches any it missed)."""
    key = request.session.session_key
    if not key:
        request.session.save()
        key = request.session.session_key
    previous = user.current_session_key
    User.objects.filter(pk=user.pk).update(current_session_key=key)
    user.current_session_key = key
    request.session[LAST_ACTIVITY_KEY] = int(time.time())
    if previous and previous != key and settings.CITYOPS_SINGLE_SESSION:
        from cityops.audit.models import AuditAction
        from cityops.audit.services import audit_record

        store = import_module(settings.SESSION_ENGINE).SessionStore
        store(session_key=previous).delete()
        audit_record(
            action=AuditAction.LOGOUT, actor=user, target=f"user:{user.get_username()}", request=request,
            details={"reason": REASON_REPLACED},
        )


def session_end(request, *, reason: str) -> None:
    """Log the user out; the logout signal writes the audit entry with this reason."""
    request._cityops_logout_reason = reason
    logout(request)
