"""Password change and TOTP pages. The rules live in services, otp and policy; these stay thin."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.password_validation import password_validators_help_texts
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cityops.accounts import policy, roles, sessions
from cityops.accounts.forms import OtpTokenForm, PasswordChangeForm
from cityops.accounts.otp import (
    ENROLMENT_SESSION_KEY,
    EnrolmentCodeRefused,
    OtpLocked,
    enrolment_code_issue,
    enrolment_code_needed,
    enrolment_code_proven,
    enrolment_code_redeem,
    otp_enrolment_start,
    otp_qr_data_uri,
    otp_remove,
    otp_secret,
    otp_verify,
)
from cityops.accounts.services import password_change_by_owner


class EnrolmentCodeForm(forms.Form):
    code = forms.CharField(
        label=_("开通码"), max_length=32, strip=True,
        error_messages={"required": _("请输入安全管理员签发的开通码。")},
    )


class EnrolmentCodeIssueForm(forms.Form):
    username = forms.CharField(label=_("用户名"), max_length=150, strip=True,
                               error_messages={"required": _("请输入要开通动态口令的用户名。")})


def _safe_next(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                                     require_https=request.is_secure()):
        return candidate
    return ""


def _next_url(request) -> str:
    return _safe_next(request) or settings.LOGIN_REDIRECT_URL


def _lockout_minutes() -> int:
    cooloff = settings.AXES_COOLOFF_TIME
    return max(int(cooloff.total_seconds() // 60), 1) if isinstance(cooloff, timedelta) else 15


def locked_out(request, credentials=None, *args, **kwargs):
    """Too many failed passwords or TOTP codes (django-axes' AXES_LOCKOUT_CALLABLE, cityops.accounts.otp)."""
    minutes = _lockout_minutes()
    if request.path.startswith("/api/"):
        message = f"登录失败次数过多，账号已临时锁定，请 {minutes} 分钟后再试。"
        return JsonResponse({"code": "locked_out", "message": message, "details": None}, status=429)
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)


def _locked(request):
    sessions.session_end(request, reason="otp_locked")
    return locked_out(request)


@login_required
def password_change(request):
    user = request.user
    reason = policy.password_change_reason(user)
    form = PasswordChangeForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        password_change_by_owner(user=user, new_password=form.cleaned_data["new_password1"], request=request)
        update_session_auth_hash(request, user)
        messages.success(request, _("密码已修改。"))
        return redirect(_next_url(request))
    return render(request, "accounts/password_change.html", {
        "form": form, "reason": reason, "help_texts": password_validators_help_texts(),
        "expires_at": policy.password_expires_at(user), "next": _next_url(request),
    })


@login_required
def otp_setup(request):
    user = request.user
    if policy.otp_device(user) is not None and not user.is_verified():
        # Re-enrolling needs the current factor: the password alone must not replace it.
        return redirect("accounts:otp_verify")
    if enrolment_code_needed(user) and not enrolment_code_proven(request, user):
        # First enrolment: the one-time code from the security administrator comes before the QR code.
        code_form = EnrolmentCodeForm(request.POST or None)
        if request.method == "POST" and code_form.is_valid():
            if enrolment_code_redeem(user=user, code=code_form.cleaned_data["code"], request=request):
                next_url = _safe_next(request)
                return redirect(f"{request.path}?{urlencode({'next': next_url})}" if next_url else request.path)
            code_form.add_error("code", _("开通码不正确或已过期，请向安全管理员申请新的开通码。"))
        return render(request, "accounts/otp_enrolment_code.html", {
            "form": code_form, "required": policy.otp_required(user), "next": _next_url(request),
            "hours": settings.CITYOPS_OTP_ENROLMENT_CODE_HOURS,
        }, status=400 if code_form.errors else 200)
    form = OtpTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = otp_verify(user=user, token=form.cleaned_data["token"], request=request, enrolling=True)
        except OtpLocked:
            return _locked(request)
        if device is not None:
            request.session.pop(ENROLMENT_SESSION_KEY, None)
            messages.success(request, _("动态口令已绑定，以后每次登录都需要输入。"))
            return redirect(_next_url(request))
        form.add_error("token", _("动态口令不正确，请核对手机时间后重试。"))
    device = otp_enrolment_start(user=user)
    return render(request, "accounts/otp_setup.html", {
        "form": form, "qr": otp_qr_data_uri(device), "secret": otp_secret(device),
        "required": policy.otp_required(user), "next": _next_url(request),
    })


@login_required
def otp_enrolment_codes(request):
    """The security administrator issues a one-time enrolment code for a user (shown once, audited)."""
    if not request.user.has_role(roles.SECADMIN):
        raise PermissionDenied(_("只有安全管理员可以签发动态口令开通码。"))
    form = EnrolmentCodeIssueForm(request.POST or None)
    issued = None
    if request.method == "POST" and form.is_valid():
        target = get_user_model().objects.filter(username=form.cleaned_data["username"]).first()
        if target is None:
            form.add_error("username", _("用户不存在。"))
        else:
            try:
                code, expires_at = enrolment_code_issue(user=target, issued_by=request.user, request=request)
            except EnrolmentCodeRefused as exc:
                form.add_error("username", exc.message)
            else:
                issued = {"user": target, "code": code, "expires_at": expires_at}
                form = EnrolmentCodeIssueForm()
    response = render(request, "accounts/otp_enrolment_codes.html", {"form": form, "issued": issued},
                      status=400 if form.is_bound and form.errors else 200)
    response["Cache-Control"] = "no-store"
    return response


@login_required
def otp_verify_view(request):
    user = request.user
    if policy.otp_device(user) is None:
        return redirect("accounts:otp_setup")
    if user.is_verified():
        return redirect(_next_url(request))
    form = OtpTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = otp_verify(user=user, token=form.cleaned_data["token"], request=request)
        except OtpLocked:
            return _locked(request)
        if device is not None:
            return redirect(_next_url(request))
        form.add_error("token", _("动态口令不正确。"))
    return render(request, "accounts/otp_verify.html", {"form": form, "next": _next_url(request)})


@login_required
def security(request):
    user = request.user
    return render(request, "accounts/security.html", {
        "device": policy.otp_device(user), "required": policy.otp_required(user),
        "expires_at": policy.password_expires_at(user), "changed_at": user.password_changed_at,
        "is_secadmin": user.has_role(roles.SECADMIN),
    })


@login_required
@require_POST
def otp_disable(request):
    user = request.user
    if policy.otp_required(user):
        messages.error(request, _("您的角色必须使用动态口令，不能解除绑定。"))
    elif user.is_verified():
        otp_remove(user=user, request=request)
        messages.success(request, _("已解除动态口令绑定。"))
    return redirect("accounts:security")
