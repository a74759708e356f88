"""Format rules shared by every face that takes the same input (desk, public form, API, import).

One home per rule: a form, a service and an importer that check a phone number ask
`is_phone`, so they cannot drift apart.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

PHONE_MAX_LENGTH = 20
PHONE_SEPARATORS = frozenset("-+ ")
PHONE_MESSAGE = "联系电话格式不正确。"


def is_phone(value: str) -> bool:
    """A contact phone as people write it: digits (full-width ones from a Chinese input method
    too), spaces, "-" and "+", at most 20 characters once trimmed (landlines with an area code
    and an extension, mobiles, +86). Empty is not a phone; callers decide whether the field is
    required."""
    phone = (value or "").strip()
    return bool(phone) and len(phone) <= PHONE_MAX_LENGTH and all(c.isdigit() or c in PHONE_SEPARATORS for c in phone)


def validate_phone(value: str) -> None:
    """Django validator (forms, model fields): an empty value passes, a bad one is refused
    with the message every face shows."""
    if (value or "").strip() and not is_phone(value):
        raise ValidationError(PHONE_MESSAGE, code="invalid")
