"""One gate for every request a signed-in session makes — pages, htmx partials, exports,
downloads, the Django admin and the API (`/api/…`) — checked in this order:

1. idle timeout: a session quiet for CITYOPS_SESSION_IDLE_MINUTES is logged out;
2. single session: with CITYOPS_SINGLE_SESSION on, a session replaced by a newer login ends;
3. second factor: accounts that need TOTP see nothing until the code is verified (or, for a
   required role without a device, until one is enrolled);
4. password change: an initial or expired password leads to the change page first.

Pages are sent to the login / second-factor / password page (htmx gets HX-Redirect); the API
answers JSON `{"code", "message", "details"}` — 401 `session_expired` / `session_replaced`,
403 `otp_required` / `otp_enrolment_required` / `password_change_required`. An API request
carrying its own credential (`Authorization`, `X-API-Key`) is left to the API's schemes
(cityops.api.auth), which check tokens and keys by their own rules; the API's session scheme
calls `session_gate` too, so a session never reaches data past these rules either way.

Background requests do not count as activity: the views in CITYOPS_SESSION_PASSIVE_VIEWS
(the notification poll) and every session-authenticated API call (the pages' scripts: the big
screen's 5-second poll, map refreshes). Only the pages themselves keep a session alive.

Open without a session check: static and public media, health probes, Open311 (keys of its
own), the language switch; and, for a session still owing a factor or a password, the
second-factor and password pages and logout (OTP_OPEN_VIEWS, PASSWORD_OPEN_VIEWS).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from cityops.accounts import policy, sessions

API_PREFIX = "/api/"
# Paths no session rule applies to (no personal session data behind them).
PUBLIC_PREFIXES = ("/open311/", "/healthz", "/readyz", "/favicon.ico", "/i18n/")
# API operations that are a sign-in themselves (username, password and code in the body): the
# token request (its DELETE shares the URL and its name, and is no sign-in).
API_SIGN_IN = {("POST", "api-v1:token_create")}
# Headers of the API's own credentials (bearer token, API key).
API_CREDENTIAL_HEADERS = ("Authorization", "X-API-Key")
# Views a user who still owes a second factor or a new password may reach.
OTP_OPEN_VIEWS = {"web:logout", "accounts:otp_verify", "accounts:otp_setup"}
PASSWORD_OPEN_VIEWS = {*OTP_OPEN_VIEWS, "accounts:password_change"}
GATE_ATTR = "_cityops_session_gate"


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str
    status: int
    url_name: str  # where a browser is sent
    session_ended: bool = False


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def has_api_credential(request: HttpRequest) -> bool:
    return any(request.headers.get(name) for name in API_CREDENTIAL_HEADERS)


def _view_name(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    return match.view_name if match else ""


def _passive(request: HttpRequest, view_name: str) -> bool:
    return is_api(request) or view_name in settings.CITYOPS_SESSION_PASSIVE_VIEWS


def session_gate(request: HttpRequest) -> Refusal | None:
    """Apply the session rules to a signed-in session's request; None when it may go on.

    Ends an idle or replaced session (audited by the logout signal), stamps activity unless the
    request is passive, and says what the session still owes (second factor, new password).
    Runs once per request: the middleware and the API's session scheme share the answer."""
    if hasattr(request, GATE_ATTR):
        return getattr(request, GATE_ATTR)
    refusal = _gate(request)
    setattr(request, GATE_ATTR, refusal)
    return refusal


def _gate(request: HttpRequest) -> Refusal | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    view_name = _view_name(request)
    if sessions.session_is_idle(request):
        sessions.session_end(request, reason=sessions.REASON_IDLE)
        return Refusal("session_expired", _("长时间未操作，已自动退出，请重新登录。"), 401, settings.LOGIN_URL, True)
    if sessions.session_replaced(request):
        sessions.session_end(request, reason=sessions.REASON_REPLACED)
        return Refusal("session_replaced", _("该账号已在其他地方登录，本次会话已结束。"), 401, settings.LOGIN_URL, True)
    if not _passive(request, view_name):
        sessions.session_touch(request)
    verified = getattr(user, "is_verified", lambda: False)()
    if not verified and policy.second_factor_needed(user):
        if policy.otp_device(user) is not None:
            return Refusal("otp_required", _("请输入动态口令完成登录。"), 403, "accounts:otp_verify")
        return Refusal("otp_enrolment_required", _("请先绑定动态口令。"), 403, "accounts:otp_setup")
    reason = policy.password_change_reason(user)
    if reason:
        return Refusal("password_change_required", _("请先修改密码。"), 403, "accounts:password_change")
    return None


def _open_views(refusal: Refusal) -> set[str]:
    if refusal.session_ended:
        return set()
    return PASSWORD_OPEN_VIEWS if refusal.code == "password_change_required" else OTP_OPEN_VIEWS


def refusal_json(refusal: Refusal) -> JsonResponse:
    url = reverse(refusal.url_name)
    body = {"code": refusal.code, "message": refusal.message, "details": {"url": url}}
    response = JsonResponse(body, status=refusal.status, json_dumps_params={"ensure_ascii": False})
    if refusal.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="cityops"'
    return response


def _wants_json(request: HttpRequest) -> bool:
    return not request.htmx and "application/json" in request.headers.get("Accept", "")  # type: ignore[attr-defined]  # django-htmx


def _answer(request: HttpRequest, refusal: Refusal) -> HttpResponse:
    if is_api(request) or _wants_json(request):
        return refusal_json(refusal)
    if refusal.session_ended:
        # Shown on the login page (the flash survives the logout: it is set after it).
        (messages.warning if refusal.code == "session_replaced" else messages.info)(request, refusal.message)
    url = reverse(refusal.url_name)
    if request.method == "GET" and not request.htmx:  # type: ignore[attr-defined]  # django-htmx
        url = f"{url}?{urlencode({'next': request.get_full_path()})}"
    if request.htmx:  # type: ignore[attr-defined]  # django-htmx
        return HttpResponseClientRedirect(url)
    return redirect(url)


class AuthenticationPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> HttpResponse | None:
        path = request.path
        if path.startswith(PUBLIC_PREFIXES) or path.startswith((settings.STATIC_URL, settings.MEDIA_URL)):
            return None
        view_name = _view_name(request)
        if is_api(request) and ((request.method, view_name) in API_SIGN_IN or has_api_credential(request)):
            return None  # a sign-in, or a token / key the API checks itself
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        refusal = session_gate(request)
        if refusal is None:
            return None
        if not refusal.session_ended:
            # Pages still open to a pending login show no navigation (web.context_processors).
            request.cityops_login_pending = True  # type: ignore[attr-defined]  # read by web.context_processors
            if view_name in _open_views(refusal):
                return None
            if view_name in settings.CITYOPS_SESSION_PASSIVE_VIEWS and not is_api(request):
                # A background poll (the bell on the gate page itself) must not bounce the page.
                return HttpResponse(status=204)
        return _answer(request, refusal)
