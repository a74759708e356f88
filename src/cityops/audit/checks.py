"""System checks of the audit trail: the hash chain needs its key outside the database."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register

from cityops.audit.services import MIN_KEY_LENGTH


@register(Tags.security, deploy=True)
def audit_hmac_key_check(app_configs=None, **kwargs) -> list[Error]:
    key = str(settings.CITYOPS_AUDIT_HMAC_KEY or "").strip()
    if len(key) >= MIN_KEY_LENGTH:
        return []
    return [
        Error(
            "The audit chain has no HMAC key (or one shorter than 32 characters): whoever can write "
            "to the database could edit the audit trail and recompute its hash chain.",
            hint="Set CITYOPS_AUDIT_HMAC_KEY or CITYOPS_AUDIT_HMAC_KEY_FILE (docs/deploy.md, 'Audit trail key').",
            id="cityops.audit.E001",
        )
    ]
