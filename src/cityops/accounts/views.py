"""Password change and TOTP pages. The rules live in services, otp and policy; these stay thin."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.password_validation import password_validators_help_texts
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cityops.accounts import policy, sessions
from cityops.accounts.forms import OtpTokenForm, PasswordChangeForm
from cityops.accounts.otp import (
    OtpLocked,
    otp_enrolment_start,
    otp_qr_data_uri,
    otp_remove,
    otp_secret,
    otp_verify,
)
from cityops.accounts.services import password_change_by_owner


def _next_url(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                                     require_https=request.is_secure()):
        return candidate
    return settings.LOGIN_REDIRECT_URL


def _locked(request):
    from cityops.web.views import locked_out

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
    form = OtpTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = otp_verify(user=user, token=form.cleaned_data["token"], request=request, enrolling=True)
        except OtpLocked:
            return _locked(request)
        if device is not None:
            messages.success(request, _("动态口令已绑定，以后每次登录都需要输入。"))
            return redirect(_next_url(request))
        form.add_error("token", _("动态口令不正确，请核对手机时间后重试。"))
    device = otp_enrolment_start(user=user)
    return render(request, "accounts/otp_setup.html", {
        "form": form, "qr": otp_qr_data_uri(device), "secret": otp_secret(device),
        "required": policy.otp_required(user), "next": _next_url(request),
    })


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
