"""Public map data: region boundaries for ECharts and point → street/community/grid lookup."""

from __future__ import annotations

import math

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse
from django.views.decorators.http import require_GET

from cityops.geo.lookup import GeoLookupError
from cityops.intake.selectors import locate_point, parse_levels, regions_geojson


@require_GET
def regions(request: HttpRequest) -> HttpResponse:
    """GET /map/regions.geojson?level=district,street — a small FeatureCollection (WGS-84)."""
    try:
        levels = parse_levels(request.GET.get("level"))
    except ValueError as exc:
        return JsonResponse({"error": f"未知的层级：{exc}，可选 district、street、community"}, status=400)
    body, etag = regions_geojson(levels)
    quoted = f'"{etag}"'
    if quoted in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="application/geo+json; charset=utf-8")
    response["ETag"] = quoted
    response["Cache-Control"] = "public, max-age=600"
    return response


def _coordinate(raw: str | None) -> float | None:
    try:
        value = float(raw or "")
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@require_GET
def locate(request: HttpRequest) -> JsonResponse:
    """GET /map/locate/?lon=&lat=[&coord_system=wgs84] → street, community and grid of the point."""
    lon, lat = _coordinate(request.GET.get("lon")), _coordinate(request.GET.get("lat"))
    coord_system = request.GET.get("coord_system") or "wgs84"
    if lon is None or lat is None or not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return JsonResponse({"error": "坐标格式不正确"}, status=400)
    if coord_system not in ("wgs84", "gcj02"):
        return JsonResponse({"error": "坐标系无效，可选 wgs84 或 gcj02"}, status=400)
    try:
        data = locate_point(lon, lat, coord_system)
    except GeoLookupError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "private, max-age=60"
    return response
