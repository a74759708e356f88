"""Reads of the authentication policy: is this password due for a change, does this account
need a second factor. The middleware, the login views and the API all ask here."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from cityops.accounts.models import User

REASON_INITIAL = "initial"
REASON_EXPIRED = "expired"


def password_expires_at(user: User) -> datetime | None:
    """When the password expires, or None when expiry is off or the account has no password."""
    days = int(settings.CITYOPS_PASSWORD_MAX_AGE_DAYS)
    if days <= 0 or not user.has_usable_password() or user.password_changed_at is None:
        return None
    return user.password_changed_at + timedelta(days=days)


def password_change_reason(user: User, *, now: datetime | None = None) -> str | None:
    """Why the user must change the password before doing anything else, or None."""
    if not user.has_usable_password():
        return None
    if user.must_change_password:
        return REASON_INITIAL
    expires = password_expires_at(user)
    if expires is not None and expires <= (now or timezone.now()):
        return REASON_EXPIRED
    return None


def otp_required(user: User) -> bool:
    """True when the account's role (OTP_REQUIRED_ROLES) makes the TOTP second factor mandatory.

    Superusers hold every permission, so they are bound whenever any role is."""
    required = set(settings.OTP_REQUIRED_ROLES or [])
    if not required:
        return False
    return user.is_superuser or user.has_role(*required)


def otp_device(user: User, *, confirmed: bool = True):
    """The user's TOTP device (confirmed, or the one being enrolled), or None."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("-id").first()


def second_factor_needed(user: User) -> bool:
    """A login must pass a TOTP code: the role requires it, or the user enrolled voluntarily."""
    return otp_required(user) or otp_device(user) is not None
