"""TOTP second factor (等保 2.0: 两种或两种以上组合的鉴别技术): enrolment, verification, lockout.

Wrong codes lock the account like wrong passwords: AXES_FAILURE_LIMIT consecutive failures
on the device refuse every code for AXES_COOLOFF_TIME. The count lives on the device
(django-otp's throttling fields), so logging in again with the password does not reset it,
and each failure is also reported to django-axes, which locks the source address.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from io import BytesIO

import qrcode
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from qrcode.image.svg import SvgPathImage

from cityops.accounts.models import User
from cityops.accounts.policy import otp_device
from cityops.audit.models import AuditAction
from cityops.audit.services import audit_record

DEVICE_NAME = "动态口令"


class OtpLocked(Exception):
    """Too many wrong codes: the account takes no code until the cool-off has passed."""


def _failure_limit() -> int:
    return int(getattr(settings, "AXES_FAILURE_LIMIT", 5))


def _cooloff() -> timedelta:
    cooloff = getattr(settings, "AXES_COOLOFF_TIME", None)
    return cooloff if isinstance(cooloff, timedelta) else timedelta(minutes=15)


def otp_is_locked(device: TOTPDevice, *, now=None) -> bool:
    if device.throttling_failure_count < _failure_limit() or device.throttling_failure_timestamp is None:
        return False
    return device.throttling_failure_timestamp + _cooloff() > (now or timezone.now())


def otp_enrolment_start(*, user: User) -> TOTPDevice:
    """The unconfirmed device the user is enrolling (a fresh secret the first time)."""
    device = otp_device(user, confirmed=False)
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def otp_secret(device: TOTPDevice) -> str:
    """The secret in base32, in groups of four, for typing into an authenticator app by hand."""
    raw = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def otp_qr_data_uri(device: TOTPDevice) -> str:
    """The otpauth:// URL as an SVG QR code in a data: URI (an <img>, so no inline markup or script)."""
    image = qrcode.make(device.config_url, image_factory=SvgPathImage, box_size=8, border=2)
    buffer = BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def _refuse(*, device: TOTPDevice, request, stage: str) -> None:
    user = device.user
    audit_record(
        action=AuditAction.LOGIN_FAILED, actor=user, target=f"user:{user.get_username()}", request=request,
        details={"via": "api" if request.path.startswith("/api/") else "web", "factor": "totp", "stage": stage, "failures": device.throttling_failure_count},
    )
    # django-axes counts the failure against the username and the source address.
    AxesProxyHandler.user_login_failed(sender=otp_verify, credentials={"username": user.get_username()}, request=request)


def otp_verify(*, user: User, token: str, request, enrolling: bool = False) -> TOTPDevice | None:
    """Check a 6-digit code against the user's device; on success the session is verified.

    Returns the device, or None for a wrong code. Raises OtpLocked when the account is
    locked (before or because of this attempt). `enrolling` checks the device being set up
    and confirms it on success.
    """
    device = otp_device(user, confirmed=not enrolling)
    if device is None:
        return None
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        if otp_is_locked(device):
            raise OtpLocked
        ok = device.verify_token((token or "").strip().replace(" ", ""))
        if ok and enrolling:
            # One confirmed device per user: re-enrolling replaces the old one.
            TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk).delete()
            device.confirmed = True
            device.save(update_fields=["confirmed"])
    if not ok:
        _refuse(device=device, request=request, stage="enrol" if enrolling else "login")
        if otp_is_locked(device):
            raise OtpLocked
        return None
    otp_login(request, device)
    if enrolling:
        audit_record(
            action=AuditAction.ACCOUNT_CHANGE, actor=user, target=f"user:{user.get_username()}", request=request,
            details={"change": "otp_enrol"},
        )
    return device


@transaction.atomic
def otp_remove(*, user: User, request=None) -> int:
    """Delete the user's TOTP devices (voluntary users only; see the view's check)."""
    count, _ = TOTPDevice.objects.filter(user=user).delete()
    if count:
        audit_record(
            action=AuditAction.ACCOUNT_CHANGE, actor=user, target=f"user:{user.get_username()}", request=request,
            details={"change": "otp_remove"},
        )
    return count
