"""A database outage answers 503, not 500, and never leaves half-written data.

When PostgreSQL restarts (or a connection is cut, or SQLite stays locked), the request in
flight gets `OperationalError` / `InterfaceError`. Django has already rolled the atomic block
back; here we turn the error into a clean **503 Service Unavailable** with `Retry-After`:
JSON `{"code", "message", "details"}` under /api/ and /open311/, a plain HTML page elsewhere
(rendered without templates, context processors or the database). Django's own
`close_old_connections` then drops the broken connection at the end of the request, so the
next request reconnects and the service resumes by itself.

Three places catch the error, because it can surface in three layers:

* the django-ninja API catches every exception in its own handler: `install()` registers a
  handler for the two classes on the v1 API (called from config/api.py, where the API is wired);
* a view raising it: `DatabaseUnavailableMiddleware.process_exception`;
* a middleware, template rendering or anything else under the handler: Django turns it into a
  500 and sends `got_request_exception`; we mark the request there and the middleware swaps
  the 500 for a 503 on the way out.
"""

from __future__ import annotations

import logging
import sys

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger("cityops.ops.db")

UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5
CODE = "service_unavailable"
MESSAGE = "数据库暂时不可用，请稍后重试。"
JSON_PREFIXES = ("/api/", "/open311/")

HTML = """<!doctype html>
<html lang="zh-Hans"><head><meta charset="utf-8"><title>服务暂时不可用</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family:sans-serif;max-width:40em;margin:4em auto;padding:0 1em">
<h1>服务暂时不可用</h1><p>数据库暂时无法连接，您的操作没有保存。请稍后刷新页面重试。</p>
<p style="color:#666">503 Service Unavailable</p></body></html>
"""


def is_unavailable(exc: BaseException | None) -> bool:
    return isinstance(exc, UNAVAILABLE_ERRORS)


def wants_json(request: HttpRequest) -> bool:
    if request.path.startswith(JSON_PREFIXES):
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def unavailable_response(request: HttpRequest) -> HttpResponse:
    if wants_json(request):
        response: HttpResponse = JsonResponse(
            {"code": CODE, "message": MESSAGE, "details": None}, status=503, json_dumps_params={"ensure_ascii": False}
        )
    else:
        response = HttpResponse(HTML, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def _log(request: HttpRequest, exc: BaseException) -> None:
    logger.warning("database unavailable on %s %s: %s", request.method, request.path, str(exc).strip()[:200])


class DatabaseUnavailableMiddleware:
    """Answer 503 when the database is unreachable. Put it near the top of MIDDLEWARE."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 500 and getattr(request, "_cityops_db_unavailable", False):
            return unavailable_response(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_unavailable(exception):
            _log(request, exception)
            return unavailable_response(request)
        return None


def _mark_request(sender, request: HttpRequest | None = None, **kwargs) -> None:
    exc = sys.exc_info()[1]
    if request is not None and is_unavailable(exc):
        request._cityops_db_unavailable = True
        _log(request, exc)


got_request_exception.connect(_mark_request, dispatch_uid="cityops.ops.dbfailure")


def _ninja_handler(request: HttpRequest, exc: Exception) -> HttpResponse:
    _log(request, exc)
    return unavailable_response(request)


def install() -> None:
    """Register the 503 handler on the v1 API (ninja answers every other exception with 500)."""
    from cityops.api.v1 import api

    for error in UNAVAILABLE_ERRORS:
        api.add_exception_handler(error, _ninja_handler)
