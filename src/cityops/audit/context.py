"""The request being served, for receivers that have no request of their own (m2m and LogEntry signals).

`AuditContextMiddleware` sets it for the length of a request; `acting(...)` sets it around
work done outside a request (a command acting for someone).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_current: ContextVar[tuple[Any, Any] | None] = ContextVar("cityops_audit_actor", default=None)


def current() -> tuple[Any, Any]:
    """(actor, request) of the work in progress, (None, None) when unknown."""
    value = _current.get()
    if value is None:
        return None, None
    actor, request = value
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        actor = user if user is not None and user.is_authenticated else None
    return actor, request


@contextmanager
def acting(*, actor=None, request=None) -> Iterator[None]:
    token = _current.set((actor, request))
    try:
        yield
    finally:
        _current.reset(token)


class AuditContextMiddleware:
    """Remembers the request so audit receivers can name the actor and the source address."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        with acting(request=request):
            return self.get_response(request)
