"""Issuing, checking and revoking API tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from cityops.api.models import ApiToken, token_lifetime

# Writing last_used_at on every request would turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenRejected(Exception):
    """The bearer token is unknown, revoked, expired or belongs to an inactive user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once, never stored
    record: ApiToken


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_issue(*, user, name: str = "", lifetime: timedelta | None = None, now: datetime | None = None) -> IssuedToken:
    now = now or timezone.now()
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    record = ApiToken.objects.create(
        user=user, name=(name or "")[:64], prefix=prefix, key_hash=_digest(secret),
        created_at=now, expires_at=now + (lifetime or token_lifetime()),
    )
    return IssuedToken(token=f"{prefix}.{secret}", record=record)


def token_authenticate(raw: str, *, now: datetime | None = None) -> ApiToken:
    """The token's record (with its user) or TokenRejected."""
    now = now or timezone.now()
    prefix, _, secret = (raw or "").strip().partition(".")
    if not prefix or not secret:
        raise TokenRejected("令牌格式不正确。")
    record = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if record is None or not hmac.compare_digest(record.key_hash, _digest(secret)):
        raise TokenRejected("令牌无效。")
    if record.revoked:
        raise TokenRejected("令牌已吊销，请重新获取。")
    if record.expires_at <= now:
        raise TokenRejected("令牌已过期，请重新获取。")
    if not record.user.is_active:
        raise TokenRejected("账号已停用。")
    if record.last_used_at is None or now - record.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=record.pk).update(last_used_at=now)
        record.last_used_at = now
    return record


def token_revoke(*, record: ApiToken) -> None:
    ApiToken.objects.filter(pk=record.pk).update(revoked=True)
    record.revoked = True
