"""Helpers of the accounts tests: TOTP codes computed with django-otp's own RFC 6238
implementation (no pyotp), and the codes a password is refused with."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice


def code_for(device: TOTPDevice, *, ahead: int = 0) -> str:
    """The device's code for the current time step plus `ahead` steps.

    A code is accepted once (django-otp refuses any step not after the last verified one),
    so a second verification in the same test uses `ahead=1`, still within the tolerance."""
    device.refresh_from_db()
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift + ahead)
    return str(value).zfill(device.digits)


def wrong_code_for(device: TOTPDevice) -> str:
    """A code no step within the tolerance window accepts."""
    valid = {code_for(device, ahead=a) for a in range(-2, 4)}
    candidate = 123456
    while str(candidate) in valid:
        candidate += 1
    return str(candidate)


def pass_enrolment_code(client, user) -> None:
    """What a new account does first: redeem a one-time enrolment code issued for it (here by
    the command line), so the setup page goes on to the QR code."""
    from cityops.accounts.otp import enrolment_code_issue

    code, _expires = enrolment_code_issue(user=user, issued_by=None)
    response = client.post("/account/otp/setup/", {"code": code})
    assert response.status_code == 302, response.content.decode()[:500]


def codes_of(password: str, user=None) -> set[str]:
    """The validators' error codes for `password` (empty: accepted)."""
    try:
        validate_password(password, user)
    except ValidationError as exc:
        return {error.code for error in exc.error_list}
    return set()
