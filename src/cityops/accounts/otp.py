"""TOTP second factor (等保 2.0: 两种或两种以上组合的鉴别技术): enrolment, verification, lockout.

First enrolment needs a one-time enrolment code (开通码) issued by the security administrator
(`enrolment_code_issue`, from the secadmin's page or `cityops otp_enrolment_code` on the
server), so the password alone never binds an authenticator: whoever learns a new admin's
initial password cannot enrol their own phone. The code is a django-otp static token (one
StaticDevice named ENROLMENT_DEVICE_NAME per user, one token, the newest replaces the older),
valid CITYOPS_OTP_ENROLMENT_CODE_HOURS; issuing and redeeming it are audited, wrong codes count
as login failures. Codes are needed for the OTP_REQUIRED_ROLES, and for everyone with
CITYOPS_OTP_ENROLMENT_CODE_FOR_ALL (the production default).

Wrong codes lock the account like wrong passwords: AXES_FAILURE_LIMIT consecutive failures
on the device refuse every code for AXES_COOLOFF_TIME. The count lives on the device
(django-otp's throttling fields), so logging in again with the password does not reset it,
and each failure is also reported to django-axes, which locks the source address.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from io import BytesIO

import qrcode
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from qrcode.image.svg import SvgPathImage

from cityops.accounts import roles
from cityops.accounts.models import User
from cityops.accounts.policy import otp_device, otp_required
from cityops.audit.models import AuditAction
from cityops.audit.services import audit_record

DEVICE_NAME = "动态口令"
ENROLMENT_DEVICE_NAME = "动态口令开通码"
# Set in the session once the enrolment code is redeemed: the QR code may then be shown.
ENROLMENT_SESSION_KEY = "_cityops_otp_enrolment_user"


class OtpLocked(Exception):
    """Too many wrong codes: the account takes no code until the cool-off has passed."""


def _failure_limit() -> int:
    return int(settings.AXES_FAILURE_LIMIT)


def _cooloff() -> timedelta:
    cooloff = settings.AXES_COOLOFF_TIME
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


# ---------------------------------------------------------------- enrolment codes (开通码)


class EnrolmentCodeRefused(Exception):
    """The code cannot be issued as asked; `message` is for the security administrator."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def admin_hide_enrolment_codes() -> None:
    """django-otp registers its static devices in the admin, where a superuser could add a token
    and read it back; codes are issued only through `enrolment_code_issue` (audited)."""
    from django.contrib import admin

    if admin.site.is_registered(StaticDevice):
        admin.site.unregister(StaticDevice)


def enrolment_code_needed(user: User) -> bool:
    """True when binding an authenticator needs a code: the user has no confirmed device (re-binding
    needs the current factor instead, see the view) and the role requires the second factor, or
    codes are required for everyone (CITYOPS_OTP_ENROLMENT_CODE_FOR_ALL)."""
    if otp_device(user) is not None:
        return False
    return otp_required(user) or bool(settings.CITYOPS_OTP_ENROLMENT_CODE_FOR_ALL)


def enrolment_code_proven(request, user: User) -> bool:
    return request.session.get(ENROLMENT_SESSION_KEY) == user.pk


def _code_hours() -> int:
    return int(settings.CITYOPS_OTP_ENROLMENT_CODE_HOURS)


def _normalise(code: str) -> str:
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())


def _display(token: str) -> str:
    token = token.upper()
    return "-".join(token[i : i + 4] for i in range(0, len(token), 4))


@transaction.atomic
def enrolment_code_issue(*, user: User, issued_by: User | None, request=None, now=None) -> tuple[str, datetime]:
    """A new one-time enrolment code for `user` (shown once: only the token row holds it, and it
    is deleted when used or replaced). `issued_by` is the security administrator (None: the
    server's command line). Returns (code for display, expiry)."""
    if issued_by is not None:
        if not issued_by.has_role(roles.SECADMIN):
            raise EnrolmentCodeRefused("只有安全管理员可以签发动态口令开通码。")
        if issued_by.pk == user.pk:
            raise EnrolmentCodeRefused("不能为自己签发开通码，请由另一名安全管理员签发。")
    if not user.is_active or not user.has_usable_password():
        raise EnrolmentCodeRefused("该账号已停用或不能登录网页（服务账号），无需开通码。")
    StaticDevice.objects.filter(user=user, name=ENROLMENT_DEVICE_NAME).delete()
    device = StaticDevice.objects.create(user=user, name=ENROLMENT_DEVICE_NAME, confirmed=True)
    token = StaticToken.random_token() + StaticToken.random_token()[:4]  # 12 base32 characters, 60 bits
    StaticToken.objects.create(device=device, token=token)
    expires_at = device.created_at + timedelta(hours=_code_hours())
    audit_record(
        action=AuditAction.ACCOUNT_CHANGE, actor=issued_by, actor_label="" if issued_by else "命令行",
        target=f"user:{user.get_username()}", request=request,
        details={"change": "otp_enrolment_code_issued", "expires_at": expires_at.isoformat(),
                 "via": "web" if issued_by else "cli"},
    )
    return _display(token), expires_at


def enrolment_code_redeem(*, user: User, code: str, request, now=None) -> bool:
    """Check and use up the user's enrolment code; on success this session may bind a new
    authenticator (any half-done enrolment is discarded, so its secret is never reused)."""
    now = now or timezone.now()
    with transaction.atomic():
        device = StaticDevice.objects.select_for_update().filter(user=user, name=ENROLMENT_DEVICE_NAME).first()
        expired = device is not None and device.created_at + timedelta(hours=_code_hours()) <= now
        if expired:
            device.delete()
        ok = device is not None and not expired and device.verify_token(_normalise(code))
        if ok:
            device.delete()
            TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    if not ok:
        audit_record(
            action=AuditAction.LOGIN_FAILED, actor=user, target=f"user:{user.get_username()}", request=request,
            details={"via": "web", "factor": "enrolment_code", "stage": "enrol",
                     "reason": "expired" if expired else ("none" if device is None else "wrong")},
        )
        AxesProxyHandler.user_login_failed(sender=enrolment_code_redeem, credentials={"username": user.get_username()},
                                           request=request)
        return False
    request.session[ENROLMENT_SESSION_KEY] = user.pk
    audit_record(
        action=AuditAction.ACCOUNT_CHANGE, actor=user, target=f"user:{user.get_username()}", request=request,
        details={"change": "otp_enrolment_code_redeemed"},
    )
    return True
