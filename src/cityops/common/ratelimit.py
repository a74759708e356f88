"""Request rate limits (等保 2.0 入侵防范): a brake on scripted abuse of the public forms, the
login, the API token endpoint and Open311 POST, counted in the Django cache by django-ratelimit.

Each limit has a scope name; its rate comes from `settings.CITYOPS_RATE_LIMITS[scope]`
("10/m", "30/h", or a `(count, seconds)` pair) and defaults to `DEFAULT_RATES`. A rate of
`None` switches that scope off. Windows are fixed (django-ratelimit's, per key), which is
good enough for a brake. Each caller answers a refusal in its own format (HTML page, Open311
error list, API JSON); `retry_after` gives the seconds for the Retry-After header.

The `django_ratelimit` app itself is not installed: its system check insists on memcached or
django-redis and would flag our locmem (development) and resilient Redis (production) caches.
`RATELIMIT_FAIL_OPEN` is on: when Redis is down the site keeps taking reports unthrottled
rather than refusing everyone (see cityops.ops.cache).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_ratelimit.core import get_usage

Rate = str | tuple[int, int] | None

DEFAULT_RATES: dict[str, Rate] = {
    "report": "10/m",  # citizen reports submitted, per IP (every POST attempt counts)
    "report_photo": "30/h",  # citizen reports carrying a photo, per IP (decoding photos costs CPU and memory)
    "rate": "10/m",  # satisfaction ratings submitted, per IP
    "track": "30/m",  # tracking-code lookups, per IP
    "track_miss": "30/h",  # lookups that matched no case (guessing codes), per IP
    # Login form posts per address, successes included. Everyone behind one NAT shares it, so it
    # is sized for a 100-seat service center signing in at the start of a shift (100 people,
    # retyped passwords, a second attempt each: 300 within five minutes). It is the only
    # per-address brake: failed passwords lock an account (from one address or from all),
    # never the address (cityops.accounts.lockout).
    "login": "300/5m",
    "api_token": "20/m",  # POST /api/v1/auth/token, per IP
    "open311_post_ip": "30/m",  # Open311 POST requests, per IP (before the key is checked)
    "open311_post_key": "60/m",  # Open311 POST requests, per valid API key
}


def rate_for(scope: str) -> Rate:
    configured = settings.CITYOPS_RATE_LIMITS or {}
    return configured[scope] if scope in configured else DEFAULT_RATES[scope]


def _usage(request: HttpRequest, scope: str, key: str | Callable[[str, HttpRequest], str], *, increment: bool) -> dict[str, Any] | None:
    rate = rate_for(scope)
    if rate is None:
        return None
    return get_usage(request, group=f"cityops:{scope}", key=key, rate=rate, increment=increment)


def hit(request: HttpRequest, scope: str, key: str | Callable[[str, HttpRequest], str] = "ip") -> bool:
    """Count one request against `scope`; True while the client is within its limit.

    `key` is django-ratelimit's: "ip" (REMOTE_ADDR, IPv6 by /64) by default, or a callable
    `(group, request) -> str` such as `by_value(api_key_id)`."""
    usage = _usage(request, scope, key, increment=True)
    return usage is None or not usage["should_limit"]


def exceeded(request: HttpRequest, scope: str, key: str | Callable[[str, HttpRequest], str] = "ip") -> bool:
    """True when the client has already used up its limit; counts nothing."""
    usage = _usage(request, scope, key, increment=False)
    return usage is not None and usage["count"] >= usage["limit"]


def retry_after(request: HttpRequest, scope: str, key: str | Callable[[str, HttpRequest], str] = "ip") -> int:
    """Seconds until the client's current window for `scope` ends (at least 1)."""
    usage = _usage(request, scope, key, increment=False)
    return max(1, int(usage["time_left"])) if usage and usage["time_left"] > 0 else 60


def by_value(value: object) -> Callable[[str, HttpRequest], str]:
    """A django-ratelimit key counting per `value` (an API key's id, say) instead of per IP."""
    return lambda group, request: str(value)


def too_many(request: HttpRequest, scope: str, template: str, context: dict[str, Any] | None = None) -> HttpResponse:
    """The HTML refusal: `template` rendered with `retry_minutes`, status 429 and Retry-After."""
    retry = retry_after(request, scope)
    response = render(request, template, {"retry_minutes": max(1, round(retry / 60)), **(context or {})}, status=429)
    response["Retry-After"] = str(retry)
    response["Cache-Control"] = "no-store"
    return response


def limit_posts(scope: str, template: str):
    """View decorator: POSTs beyond the `scope` rate (per IP) get the HTML 429 `template`."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            if request.method == "POST" and not hit(request, scope):
                return too_many(request, scope, template)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
