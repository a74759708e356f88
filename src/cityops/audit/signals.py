"""Sign-ins and failed sign-ins go to the audit trail, whatever the door (web login, API token)."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from cityops.audit.models import AuditAction
from cityops.audit.services import audit_record

MAX_USERNAME = 150


def _via(request) -> str:
    path = getattr(request, "path", "") or ""
    return "api" if path.startswith("/api/") else "web"


def _user_agent(request) -> str:
    return (request.META.get("HTTP_USER_AGENT", "") if request is not None else "")[:200]


@receiver(user_logged_in, dispatch_uid="cityops.audit.login")
def record_login(sender, request, user, **kwargs):
    audit_record(
        action=AuditAction.LOGIN, actor=user, target=f"user:{user.get_username()}", request=request,
        details={"via": _via(request), "user_agent": _user_agent(request)},
    )


@receiver(user_login_failed, dispatch_uid="cityops.audit.login_failed")
def record_login_failed(sender, credentials, request=None, **kwargs):
    # Django has already replaced the password with asterisks; only the username is kept.
    username = str((credentials or {}).get("username", ""))[:MAX_USERNAME]
    audit_record(
        action=AuditAction.LOGIN_FAILED, actor_label=username, target=f"user:{username}", request=request,
        details={"via": _via(request), "username": username, "user_agent": _user_agent(request)},
    )
