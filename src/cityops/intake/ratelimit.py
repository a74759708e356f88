"""A small fixed-window rate limiter for the public (no-login) pages, counted per client IP
in the Django cache. It is a brake on scripted abuse, not an accounting system: a window
that starts again each hour is good enough, and a cache outage lets requests through.

Limits come from `settings.CITYOPS_INTAKE_RATE_LIMITS` ({scope: (count, seconds)}) and
default to `DEFAULT_LIMITS`.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

DEFAULT_LIMITS: dict[str, tuple[int, int]] = {
    "report": (20, 3600),  # citizen reports submitted (every POST attempt counts)
    "rate": (20, 3600),  # satisfaction ratings submitted
    "track_miss": (30, 3600),  # tracking codes that matched no case (guessing)
}


def limit_for(scope: str) -> tuple[int, int]:
    configured = getattr(settings, "CITYOPS_INTAKE_RATE_LIMITS", {}) or {}
    count, seconds = configured.get(scope, DEFAULT_LIMITS[scope])
    return int(count), int(seconds)


def client_ip(request: HttpRequest) -> str:
    # Behind a reverse proxy, the proxy must set REMOTE_ADDR (e.g. gunicorn --forwarded-allow-ips
    # with a trusted proxy); X-Forwarded-For is never trusted here, it is set by the client.
    return request.META.get("REMOTE_ADDR") or "unknown"


def _key(request: HttpRequest, scope: str, seconds: int) -> str:
    return f"intake:rl:{scope}:{client_ip(request)}:{int(time.time() // seconds)}"


def hit(request: HttpRequest, scope: str) -> bool:
    """Count one request; True while the client is within its limit."""
    limit, seconds = limit_for(scope)
    key = _key(request, scope, seconds)
    cache.add(key, 0, seconds + 60)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, seconds + 60)
        count = 1
    return count <= limit


def exceeded(request: HttpRequest, scope: str) -> bool:
    """True when the client has already used up its limit (does not count a request)."""
    limit, seconds = limit_for(scope)
    return (cache.get(_key(request, scope, seconds)) or 0) >= limit


def too_many(request: HttpRequest, scope: str) -> HttpResponse:
    _limit, seconds = limit_for(scope)
    retry = seconds - int(time.time()) % seconds
    response = render(request, "intake/ratelimited.html", {"retry_minutes": max(1, round(retry / 60))}, status=429)
    response["Retry-After"] = str(retry)
    return response
