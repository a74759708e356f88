"""Token issue and the bearer authentication every other endpoint uses."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from django.http import HttpRequest
from django.urls import reverse
from ninja import Router, Status
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer
from ninja.security import SessionAuth as NinjaSessionAuth

from cityops.accounts import authcache
from cityops.accounts.otp import OtpLocked, otp_verify
from cityops.accounts.policy import REASON_EXPIRED, otp_device, password_change_reason, second_factor_needed
from cityops.api.errors import ApiError
from cityops.api.schemas import ErrorOut, TokenIn, TokenOut
from cityops.api.tokens import TokenRejected, token_authenticate, token_issue, token_revoke
from cityops.common import ratelimit

PASSWORD_CHANGE_MESSAGES = {
    REASON_EXPIRED: "密码已过期，请先登录网页修改密码。",
}
PASSWORD_CHANGE_DEFAULT = "请先登录网页修改初始密码。"


def _refuse_password_change(reason: str, *, suffix: str = "") -> ApiError:
    message = PASSWORD_CHANGE_MESSAGES.get(reason, PASSWORD_CHANGE_DEFAULT)
    return ApiError(403, "password_change_required", message.rstrip("。") + suffix + "。", {"reason": reason})


class BearerToken(HttpBearer):
    """`Authorization: Bearer <token>`; the user behind a valid token becomes `request.auth`."""

    def authenticate(self, request: HttpRequest, token: str):
        try:
            record = token_authenticate(token)
        except TokenRejected as exc:
            raise AuthenticationError(401, exc.message) from None
        # A token outlives the password's validity: an expired or reset password stops it too.
        reason = password_change_reason(record.user)
        if reason:
            raise _refuse_password_change(reason)
        authcache.prime(record.user)
        request.api_token = record
        request.user = record.user
        return record.user


bearer = BearerToken()


class SessionAuth(NinjaSessionAuth):
    """The signed-in browser session (the pages' own scripts), under the same rules as the pages:
    idle timeout, single session, second factor, password change (accounts.middleware.session_gate).

    A request carrying a bearer token or an API key is left to those schemes, so a stale session
    cookie beside a valid token neither helps nor hinders it. CSRF is checked on unsafe methods."""

    def authenticate(self, request: HttpRequest, key: str | None):
        from cityops.accounts.middleware import has_api_credential, session_gate

        if has_api_credential(request) or not request.user.is_authenticated:
            return None
        refusal = session_gate(request)
        if refusal is not None:
            raise ApiError(refusal.status, refusal.code, refusal.message, {"url": reverse(refusal.url_name)})
        return request.user


session = SessionAuth()
router = Router(tags=["认证"])


def _lockout_minutes() -> int:
    cooloff = settings.AXES_COOLOFF_TIME
    return int(cooloff.total_seconds() // 60) if hasattr(cooloff, "total_seconds") else 0


@router.post(
    "/token", auth=None, response={200: TokenOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 429: ErrorOut},
    summary="用用户名和密码换取访问令牌",
)
def token_create(request: HttpRequest, payload: TokenIn):
    if not ratelimit.hit(request, "api_token"):
        retry = ratelimit.retry_after(request, "api_token")
        raise ApiError(429, "throttled", f"请求过于频繁，请 {retry} 秒后再试。", {"retry_after": retry})
    # Going through authenticate(request=…) lets django-axes count failures and lock out.
    user = authenticate(request=request, username=payload.username, password=payload.password)
    if getattr(request, "axes_locked_out", False):
        # Answer in JSON ourselves; AxesMiddleware would otherwise swap in its HTML page.
        request.axes_locked_out = False
        minutes = _lockout_minutes()
        wait = f"请 {minutes} 分钟后再试" if minutes else "请稍后再试"
        raise ApiError(429, "locked_out", f"登录失败次数过多，账号已被临时锁定，{wait}。")
    if user is None:
        raise ApiError(401, "invalid_credentials", "用户名或密码错误")
    if second_factor_needed(user):
        if otp_device(user) is None:
            raise ApiError(403, "otp_enrolment_required", "请先登录网页绑定动态口令，再申请接口令牌。")
        if not payload.otp:
            raise ApiError(401, "otp_required", "该账号须提供动态口令（otp 字段）。")
        try:
            if otp_verify(user=user, token=payload.otp, request=request) is None:
                raise ApiError(401, "otp_invalid", "动态口令不正确。")
        except OtpLocked:
            raise ApiError(429, "locked_out", f"动态口令错误次数过多，账号已被临时锁定，请 {_lockout_minutes()} 分钟后再试。") from None
    reason = password_change_reason(user)
    if reason:
        raise _refuse_password_change(reason, suffix="，再申请接口令牌")
    issued = token_issue(user=user, name=payload.name)
    # A token is a login: last_login is updated and axes clears the failure count.
    user_logged_in.send(sender=type(user), request=request, user=user)
    return {"token": issued.token, "token_type": "Bearer", "expires_at": issued.record.expires_at}


# Bearer tokens only: an API key is revoked by an administrator (`cityops apikey revoke`), so a
# key sent here is no credential for this operation (401), never a revocation of something else.
@router.delete("/token", auth=bearer, response={204: None, 401: ErrorOut}, summary="吊销当前使用的令牌（仅 Bearer 令牌）")
def token_delete(request: HttpRequest):
    token_revoke(record=request.api_token)
    return Status(204, None)
