"""Issuing, checking and revoking API tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone

from cityops.api.models import ApiToken, token_lifetime
from cityops.common.refcache import ReferenceCache

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


# Token and user rows by prefix, per process: every API call needs them. Cleared on any change
# of a token or a user (signals in apps.py, and the revocations below, which use UPDATE), in
# other processes within `refcache` recheck interval (2 s). Unknown prefixes are not kept.
token_rows = ReferenceCache("api.tokens")


def _token_row(prefix: str) -> tuple | None:
    from django.contrib.auth import get_user_model

    user_fields = get_user_model()._meta.concrete_fields
    token_names = [f.attname for f in ApiToken._meta.concrete_fields]
    user_names = [f.attname for f in user_fields]
    row = (
        ApiToken.objects.filter(prefix=prefix)
        .values_list(*[f.name for f in ApiToken._meta.concrete_fields], *[f"user__{f.name}" for f in user_fields])
        .first()
    )
    if row is None:
        return None
    return token_names, row[: len(token_names)], user_names, row[len(token_names) :]


def token_authenticate(raw: str, *, now: datetime | None = None) -> ApiToken:
    """The token's record (with its user) or TokenRejected."""
    from django.contrib.auth import get_user_model

    now = now or timezone.now()
    prefix, _, secret = (raw or "").strip().partition(".")
    if not prefix or not secret:
        raise TokenRejected("令牌格式不正确。")
    entry = token_rows.get(prefix, lambda: _token_row(prefix), keep_none=False)
    if entry is None or not hmac.compare_digest(entry[1][entry[0].index("key_hash")], _digest(secret)):
        raise TokenRejected("令牌无效。")
    token_names, token_values, user_names, user_values = entry
    # Fresh instances per request: nothing a view does to them reaches the cache.
    record = ApiToken.from_db(DEFAULT_DB_ALIAS, token_names, token_values)
    record.user = get_user_model().from_db(DEFAULT_DB_ALIAS, user_names, user_values)
    if record.revoked:
        raise TokenRejected("令牌已吊销，请重新获取。")
    if record.expires_at <= now:
        raise TokenRejected("令牌已过期，请重新获取。")
    if not record.user.is_active:
        raise TokenRejected("账号已停用。")
    if record.last_used_at is None or now - record.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=record.pk).update(last_used_at=now)
        record.last_used_at = now
        token_rows.forget(prefix)
    return record


def token_revoke(*, record: ApiToken) -> None:
    ApiToken.objects.filter(pk=record.pk).update(revoked=True)
    token_rows.invalidate()
    record.revoked = True
