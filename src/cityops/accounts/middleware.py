"""One gate for every signed-in page request, checked in this order:

1. idle timeout: a session quiet for CITYOPS_SESSION_IDLE_MINUTES is logged out;
2. single session: with CITYOPS_SINGLE_SESSION on, a session replaced by a newer login ends;
3. second factor: accounts that need TOTP see nothing until the code is verified (or, for a
   required role without a device, until one is enrolled) — the Django admin included;
4. password change: an initial or expired password leads to the change page first.

The API (bearer tokens, API keys) has no session and checks its own rules (cityops.api.auth).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from cityops.accounts import policy, sessions

SESSIONLESS_PREFIXES = ("/api/", "/open311/", "/healthz", "/readyz", "/favicon.ico", "/i18n/")
# Views a user who still owes a second factor or a new password may reach.
OTP_OPEN_VIEWS = {"web:logout", "accounts:otp_verify", "accounts:otp_setup"}
PASSWORD_OPEN_VIEWS = {*OTP_OPEN_VIEWS, "accounts:password_change"}


def _wants_json(request: HttpRequest) -> bool:
    return not request.htmx and "application/json" in request.headers.get("Accept", "")


def _send_to(request: HttpRequest, url_name: str, *, code: str, message: str, status: int = 403) -> HttpResponse:
    url = reverse(url_name)
    if request.method == "GET" and not request.htmx and not _wants_json(request):
        url = f"{url}?{urlencode({'next': request.get_full_path()})}"
    if request.htmx:
        return HttpResponseClientRedirect(url)
    if _wants_json(request):
        return JsonResponse({"code": code, "message": message, "details": {"url": url}}, status=status)
    return redirect(url)


class AuthenticationPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> HttpResponse | None:
        path = request.path
        if path.startswith(SESSIONLESS_PREFIXES) or path.startswith((settings.STATIC_URL, settings.MEDIA_URL)):
            return None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        view_name = request.resolver_match.view_name if request.resolver_match else ""

        if sessions.session_is_idle(request):
            sessions.session_end(request, reason=sessions.REASON_IDLE)
            message = _("长时间未操作，已自动退出，请重新登录。")
            messages.info(request, message)
            return _send_to(request, settings.LOGIN_URL, code="session_expired", message=message, status=401)
        if sessions.session_replaced(request):
            sessions.session_end(request, reason=sessions.REASON_REPLACED)
            message = _("该账号已在其他地方登录，本次会话已结束。")
            messages.warning(request, message)
            return _send_to(request, settings.LOGIN_URL, code="session_replaced", message=message, status=401)
        passive = view_name in getattr(settings, "CITYOPS_SESSION_PASSIVE_VIEWS", [])
        if not passive:
            sessions.session_touch(request)

        pending = None
        verified = getattr(user, "is_verified", lambda: False)()
        if not verified and policy.second_factor_needed(user):
            if policy.otp_device(user) is not None:
                pending = ("accounts:otp_verify", "otp_required", _("请输入动态口令完成登录。"), OTP_OPEN_VIEWS)
            else:
                pending = ("accounts:otp_setup", "otp_enrolment_required", _("请先绑定动态口令。"), OTP_OPEN_VIEWS)
        elif policy.password_change_reason(user):
            pending = ("accounts:password_change", "password_change_required", _("请先修改密码。"), PASSWORD_OPEN_VIEWS)
        if pending is None:
            return None
        url_name, code, message, open_views = pending
        # Pages still open to a pending login show no navigation (web.context_processors).
        request.cityops_login_pending = True
        if view_name in open_views:
            return None
        if passive:
            # A background poll (the bell on the gate page itself) must not bounce the page.
            return HttpResponse(status=204)
        return _send_to(request, url_name, code=code, message=message)
