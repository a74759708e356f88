"""The v1 REST API (django-ninja), mounted at /api/ by config/urls.py.

Endpoints live under /api/v1/…, the OpenAPI documentation at /api/docs. Every response,
errors included, is JSON: see `errors.py`.
"""

from __future__ import annotations

import functools
import json
import sys

from django.http import HttpRequest, JsonResponse
from django.urls import re_path
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.openapi.docs import Swagger
from ninja.parser import Parser
from ninja.renderers import JSONRenderer

from cityops.api import alarms, auth, cases, ingest, reference
from cityops.api.bodies import refuse_nul
from cityops.api.errors import ApiError, error_body, escape_json_html, install_exception_handlers
from cityops.api.keys import api_key_auth, with_call_log


class Renderer(JSONRenderer):
    json_dumps_params = {"ensure_ascii": False}

    def render(self, request, data, *, response_status):
        return escape_json_html(super().render(request, data, response_status=response_status))


class SafeParser(Parser):
    """ninja's JSON body parser, refusing NUL characters and over-deep nesting with a 400;
    a multipart form (an action with photos) is read as its fields."""

    def parse_body(self, request):
        multipart = (request.META.get("CONTENT_TYPE") or "").lower().startswith("multipart/form-data")
        if multipart and "/actions/" in request.path:
            # A workflow action with photos (respond, verify): its fields are form fields, the
            # files are read by the endpoint from request.FILES. Other endpoints take JSON only.
            data = {key: request.POST.get(key) for key in request.POST}
            refuse_nul(data)
            return data
        try:
            data = super().parse_body(request)
        except RecursionError:
            raise ApiError(400, "invalid_json", "请求体的 JSON 嵌套过深。") from None
        except ValueError as exc:
            if isinstance(exc, json.JSONDecodeError):
                raise
            # An integer longer than Python converts (4,300 digits by default).
            limit = sys.get_int_max_str_digits()
            raise ApiError(400, "invalid_json", f"请求体含有过长的数字（整数最多 {limit} 位）。", {"max_digits": limit}) from None
        refuse_nul(data)
        return data


def _json(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status, json_dumps_params={"ensure_ascii": False})


@csrf_exempt
def unknown_route(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    return _json(404, "not_found", "接口不存在。")


def api_index(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    root = request.path.rstrip("/")
    return JsonResponse(
        {"name": api.title, "versions": ["v1"], "docs": f"{root}{api.docs_url}", "openapi": f"{root}{api.openapi_url}"},
        json_dumps_params={"ensure_ascii": False},
    )


def _json_405(view):
    """ninja answers a wrong method with a plain-text 405; make it JSON like every other error."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith("application/json"):
            allowed = response.get("Allow", "")
            response = _json(405, "method_not_allowed", "不支持该请求方法。")
            if allowed:
                response["Allow"] = allowed
        return response

    return wrapper


class CityOpsAPI(NinjaAPI):
    def _get_urls(self):
        urls = super()._get_urls()
        for pattern in urls:
            if getattr(pattern, "name", None) == "api-root":
                # ninja's root raises an HTML 404; it must keep its name (OpenAPI reverses it).
                pattern.callback = api_index
            elif hasattr(pattern, "callback"):
                pattern.callback = with_call_log(_json_405(pattern.callback))
        # Anything else under /api/ is an unknown endpoint: answer 404 in JSON, not Django's HTML page.
        urls.append(re_path(r"^.*$", unknown_route, name="unknown"))
        return urls


api = CityOpsAPI(
    title="CityOps 城运·一网统管 API",
    version="1",
    description=(
        "案件受理、派遣、处置、核查、回访的接口。先用 `POST /api/v1/auth/token` 换取令牌，"
        "再在请求头加 `Authorization: Bearer <token>`；外部系统也可用 API 密钥：请求头 `X-API-Key: cok_…`"
        "（由管理员用 `cityops apikey create` 签发）。错误一律返回 "
        '`{"code", "message", "details"}`。'
    ),
    urls_namespace="api-v1",
    auth=[api_key_auth, auth.bearer],
    renderer=Renderer(),
    parser=SafeParser(),
    # /api/docs and /api/openapi.json are public on purpose (docs/integration.md): the interface
    # contract only, no data. A token typed into the page is not kept in localStorage (shared PCs).
    docs=Swagger(settings={"persistAuthorization": False}),
)
install_exception_handlers(api)

api.add_router("/v1/auth", auth.router)
api.add_router("/v1/cases", cases.router)
api.add_router("/v1", reference.router)
api.add_router("/v1/intake", ingest.router)
api.add_router("/v1/intake", alarms.router)
api.add_router("/v1/stats/assessment", "cityops.api.assessment.router")
api.add_router("/v1/stats", "cityops.api.stats.router")
api.add_router("/v1/exports", "cityops.api.exports.router")
api.add_router("/v1/routing", "cityops.api.routing.router")
