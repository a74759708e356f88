"""Every error of the API is JSON `{"code", "message", "details"}` with a Chinese message.

Domain errors (`cityops.cases.errors.CaseError`) carry their own code and HTTP status;
this module maps everything else (ninja's validation and auth errors, 404s, malformed
JSON, unexpected exceptions) onto the same shape.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from cityops.cases.errors import CaseError
from cityops.geo.lookup import NoGeoDataError

logger = logging.getLogger("cityops.api")


class ApiError(Exception):
    """An error raised by the API layer itself (not by a domain service)."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


_HTML_IN_JSON = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def escape_json_html(body: str | bytes) -> str | bytes:
    """JSON with `<`, `>` and `&` written as \\u escapes: the same values for every JSON client,
    but a stored `<script>` can never become markup if the answer lands in a page or is sniffed.
    Safe on any JSON text: these characters only ever occur inside strings."""
    if isinstance(body, bytes):
        return body.decode("utf-8").translate(_HTML_IN_JSON).encode("utf-8")
    return body.translate(_HTML_IN_JSON)


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"code": code, "message": message, "details": details}


def _respond(api: NinjaAPI, request: HttpRequest, status: int, code: str, message: str, details: Any = None) -> HttpResponse:
    response = api.create_response(request, error_body(code, message, details), status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="cityops"'
    return response


# ---------------------------------------------------------------- request validation

_TYPE_MESSAGES = {
    "missing": "必填",
    "string_type": "须为字符串",
    "float_parsing": "须为数字",
    "float_type": "须为数字",
    "int_parsing": "须为整数",
    "int_type": "须为整数",
    "int_from_float": "须为整数",
    "bool_parsing": "须为 true 或 false",
    "bool_type": "须为 true 或 false",
    "date_parsing": "须为日期，格式 YYYY-MM-DD",
    "date_from_datetime_parsing": "须为日期，格式 YYYY-MM-DD",
    "date_from_datetime_inexact": "须为日期，格式 YYYY-MM-DD",
    "date_type": "须为日期，格式 YYYY-MM-DD",
    "datetime_parsing": "须为日期时间 (ISO 8601)",
    "datetime_from_date_parsing": "须为日期时间 (ISO 8601)",
    "datetime_type": "须为日期时间 (ISO 8601)",
    "dict_type": "须为 JSON 对象",
    "model_attributes_type": "须为 JSON 对象",
    "model_type": "须为 JSON 对象",
    "list_type": "须为列表",
    "finite_number": "须为有限数值",
}


def _field_message(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind in _TYPE_MESSAGES:
        return _TYPE_MESSAGES[kind]
    if kind in ("less_than_equal", "less_than"):
        return f"不能大于 {ctx.get('le', ctx.get('lt'))}"
    if kind in ("greater_than_equal", "greater_than"):
        return f"不能小于 {ctx.get('ge', ctx.get('gt'))}"
    if kind == "string_too_long":
        return f"长度不能超过 {ctx.get('max_length')}"
    if kind == "string_too_short":
        return f"长度不能少于 {ctx.get('min_length')}"
    if kind in ("enum", "literal_error"):
        return f"取值无效，可选：{ctx.get('expected', '')}"
    return str(error.get("msg", "取值无效"))


def _field_name(loc: tuple | list) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie", "form", "file"):
        source, parts = parts[0], parts[1:]
        # The body is always one schema parameter; its name is not part of the client's JSON.
        if source == "body" and len(parts) > 1:
            parts = parts[1:]
    return ".".join(parts) or "body"


def validation_details(errors: list[dict[str, Any]]) -> dict[str, str]:
    details: dict[str, str] = {}
    for error in errors:
        name = _field_name(error.get("loc", ()))
        message = _field_message(error)
        details[name] = f"{details[name]}；{message}" if name in details else message
    return details


# ---------------------------------------------------------------- handlers

_HTTP_CODES = {
    400: ("bad_request", "请求无效。"),
    401: ("unauthorized", "未登录或令牌无效。"),
    403: ("forbidden", "无权执行此操作。"),
    404: ("not_found", "资源不存在。"),
    405: ("method_not_allowed", "不支持该请求方法。"),
    429: ("throttled", "请求过于频繁，请稍后再试。"),
}


def install_exception_handlers(api: NinjaAPI) -> None:
    def case_error(request, exc: CaseError):
        return _respond(api, request, exc.http_status, exc.code, exc.message, exc.details)

    def api_error(request, exc: ApiError):
        return _respond(api, request, exc.status, exc.code, exc.message, exc.details)

    def validation_error(request, exc: ValidationError):
        details = validation_details(exc.errors)
        summary = "；".join(f"{name}：{msg}" for name, msg in details.items())
        return _respond(api, request, 400, "validation_error", f"请求参数不正确（{summary}）。", details)

    def authentication_error(request, exc: AuthenticationError):
        message = exc.message if exc.message and exc.message != "Unauthorized" else _HTTP_CODES[401][1]
        return _respond(api, request, 401, "unauthorized", message)

    def authorization_error(request, exc: AuthorizationError):
        return _respond(api, request, 403, "forbidden", _HTTP_CODES[403][1])

    def http_error(request, exc: HttpError):
        if isinstance(exc.__cause__, ApiError):  # raised by our body parser (v1.SafeParser)
            return api_error(request, exc.__cause__)
        if exc.status_code == 400 and isinstance(exc.__cause__, ValueError | json.JSONDecodeError):
            return _respond(api, request, 400, "invalid_json", "请求体不是有效的 JSON。")
        code, message = _HTTP_CODES.get(exc.status_code, ("error", "请求失败。"))
        return _respond(api, request, exc.status_code, code, message)

    def not_found(request, exc: Http404):
        return _respond(api, request, 404, "not_found", _HTTP_CODES[404][1])

    def permission_denied(request, exc: PermissionDenied):
        return _respond(api, request, 403, "forbidden", _HTTP_CODES[403][1])

    def too_big(request, exc: RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return _respond(api, request, 413, "payload_too_large", f"请求体过大，上限为 {limit} 字节。", {"max_bytes": limit})

    def no_geo_data(request, exc: NoGeoDataError):
        logger.error("case location cannot be resolved: %s", exc)
        return _respond(api, request, 503, "geo_unavailable", "辖区地理数据尚未加载，暂时无法定位，请联系管理员。")

    def server_error(request, exc: Exception):
        logger.exception("unhandled API error on %s %s", request.method, request.path, exc_info=exc)
        return _respond(api, request, 500, "server_error", "服务器内部错误，请稍后重试。")

    api.add_exception_handler(CaseError, case_error)
    api.add_exception_handler(ApiError, api_error)
    api.add_exception_handler(ValidationError, validation_error)
    api.add_exception_handler(AuthenticationError, authentication_error)
    api.add_exception_handler(AuthorizationError, authorization_error)
    api.add_exception_handler(HttpError, http_error)
    api.add_exception_handler(Http404, not_found)
    api.add_exception_handler(PermissionDenied, permission_denied)
    api.add_exception_handler(RequestDataTooBig, too_big)
    api.add_exception_handler(NoGeoDataError, no_geo_data)
    api.add_exception_handler(Exception, server_error)
