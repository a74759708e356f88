"""Every route the project serves: the Django URL patterns of the root URLconf (walked
recursively) and the operations of the v1 API (from its OpenAPI document)."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

API_PREFIX = "/api"  # where config/urls.py mounts the NinjaAPI


@dataclass(frozen=True)
class Route:
    key: str  # "namespace:name" for pages, "METHOD /api/v1/…" for API operations
    pattern: str
    callback: object = None


def _walk(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            # An unnamed pattern is known by its full path (unique, unlike its last segment).
            name = entry.name or prefix + str(entry.pattern)
            yield Route(f"{namespace}:{name}" if namespace else name, prefix + str(entry.pattern), entry.callback)


def url_routes() -> list[Route]:
    """All URL patterns except the API's per-operation patterns (listed by `api_operations`)."""
    return [r for r in _walk(get_resolver()) if not r.pattern.startswith("api/v1/")]


def api_pattern_paths() -> set[str]:
    """The API's per-operation URL patterns, as `/api/v1/cases/{number}` paths."""
    import re

    return {
        "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", r.pattern)
        for r in _walk(get_resolver()) if r.pattern.startswith("api/v1/")
    }


def api_operations() -> list[Route]:
    from config.api import api

    schema = api.get_openapi_schema(path_prefix=API_PREFIX)
    out = []
    for path, methods in schema["paths"].items():
        for method in methods:
            out.append(Route(f"{method.upper()} {path}", path))
    return out
