"""What an intake record keeps of an outside system's request body: the body with the personal
fields masked (个人信息最小化).

The case itself carries the reporter's name and phone for the roles that may see them
(revealed through `cases.privacy.reporter_reveal`, audited); the stored body needs none of
it in clear. Keys that name or reach a person are masked by kind (张**, 138****1234,
z***@example.com, 110101********1234); every other text goes through `common.pii.mask_text`,
so a phone or ID number typed into a description is masked as well. Masking is idempotent:
an already masked body comes out unchanged (the data migration and every save rely on it).
"""

from __future__ import annotations

from typing import Any

from cityops.common.pii import mask_text

NAME_KEYS = frozenset({"reporter_name", "first_name", "last_name", "name", "contact", "contact_name"})
PHONE_KEYS = frozenset({"reporter_phone", "phone", "mobile", "telephone", "tel", "contact_phone"})
ID_KEYS = frozenset({"id_number", "id_card", "idcard", "id_no", "identity"})
EMAIL_KEYS = frozenset({"email", "reporter_email", "e_mail"})
ACCOUNT_KEYS = frozenset({"device_id", "account_id", "open_id", "openid", "user_id"})
PERSONAL_KEYS = NAME_KEYS | PHONE_KEYS | ID_KEYS | EMAIL_KEYS | ACCOUNT_KEYS
# An alarm's device_id is a camera's code, not a person's phone: kept for these channels.
DEVICE_CHANNELS = frozenset({"iot"})


def _name(value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    return value[0] + "*" * max(1, len(value) - 1)


def _phone(value: str) -> str:
    digits = value.strip()
    if "*" in digits:
        return digits
    if len(digits) >= 7:
        return f"{digits[:3]}****{digits[-4:]}"
    return "****" if digits else ""


def _id_number(value: str) -> str:
    value = value.strip()
    if "*" in value or not value:
        return value
    if len(value) >= 10:
        return f"{value[:6]}{'*' * (len(value) - 10)}{value[-4:]}"
    return "*" * len(value)


def _email(value: str) -> str:
    masked = mask_text(value)
    if masked != value or "***@" in value:
        return masked
    local, at, domain = value.partition("@")
    return f"{local[:1]}***@{domain}" if at else _account(value)


def _account(value: str) -> str:
    value = value.strip()
    if not value or value.endswith("***"):
        return value
    return value[:2] + "***"


def _mask_value(key: str, value: Any, channel: str) -> Any:
    if isinstance(value, (dict, list)):
        return mask_body(value, channel=channel)
    if not isinstance(value, str):
        return value
    lowered = key.lower()
    if lowered in NAME_KEYS:
        return _name(value) if "*" not in value else value
    if lowered in PHONE_KEYS:
        return _phone(value)
    if lowered in ID_KEYS:
        return _id_number(value)
    if lowered in EMAIL_KEYS:
        return _email(value)
    if lowered in ACCOUNT_KEYS and channel not in DEVICE_CHANNELS:
        return _account(value)
    return mask_text(value)


def mask_body(body: Any, *, channel: str = "") -> Any:
    """`body` (a JSON value) with its personal fields masked, at any depth."""
    if isinstance(body, dict):
        return {k: _mask_value(str(k), v, channel) for k, v in body.items()}
    if isinstance(body, list):
        return [mask_body(v, channel=channel) for v in body]
    if isinstance(body, str):
        return mask_text(body)
    return body


def personal_fields(body: Any) -> list[str]:
    """The personal keys present (non-empty) in a body, for the audit entry of a view."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if str(k).lower() in PERSONAL_KEYS and v not in ("", None):
                    found.add(str(k))
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(body)
    return sorted(found)
