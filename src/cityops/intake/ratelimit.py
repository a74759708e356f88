"""Rate limits of the public (no-login) pages, per client IP: the counting is
`cityops.common.ratelimit` (django-ratelimit, rates in `settings.CITYOPS_RATE_LIMITS`);
this module adds the citizen-facing 429 page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from cityops.common import ratelimit
from cityops.common.ratelimit import exceeded, hit

__all__ = ["exceeded", "hit", "too_many"]

LOOKUP_SCOPES = {"track", "track_miss"}


def too_many(request: HttpRequest, scope: str) -> HttpResponse:
    verb = "查询" if scope in LOOKUP_SCOPES else "提交"
    return ratelimit.too_many(request, scope, "intake/ratelimited.html", {"verb": verb})
