"""Map layers for ECharts `geo`: streets, communities and unit grids from our own GeoJSON
(WGS-84), simplified for drawing and cached per geo-data version (no tile server)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.core.cache import cache

from cityops.geo.lookup import VERSION_CACHE_KEY
from cityops.geo.models import Region, RegionLevel, UnitGrid

LAYERS = ("district", "street", "community", "grid")
TOLERANCE_DEG = {"district": 0.0002, "street": 0.0002, "community": 0.0001, "grid": 0.00005}
DECIMALS = 5
CACHE_SECONDS = 24 * 3600


def _round(coords: Any) -> Any:
    if isinstance(coords, float | int):
        return round(float(coords), DECIMALS)
    return [_round(c) for c in coords]


def _simplify(geoms: list, tolerance: float) -> list:
    import shapely  # loaded when a layer is first drawn, not with every command's start

    if not geoms:
        return []
    try:
        out = list(shapely.coverage_simplify(geoms, tolerance))
        if all(g.is_valid and not g.is_empty for g in out):
            return out
    except Exception:  # not a clean coverage: simplify one by one
        pass
    return [shapely.simplify(g, tolerance, preserve_topology=True) for g in geoms]


def _rows(level: str, district: str) -> list[dict]:
    if level == "grid":
        return list(
            UnitGrid.objects.filter(code__startswith=district).order_by("code")
            .values("code", "name", "boundary", "synthetic", "street__code", "community__code", "community__name", "community__short_name")
        )
    return list(
        Region.objects.filter(level=RegionLevel(level), code__startswith=district, boundary__isnull=False).order_by("code")
        .values("code", "name", "short_name", "boundary", "synthetic", "parent__code")
    )


def layer(level: str) -> tuple[bytes, str]:
    """(GeoJSON bytes, ETag) of one layer; feature properties: code, name, parent, cp (label point)."""
    if level not in LAYERS:
        raise ValueError(level)
    district = settings.CITYOPS_DISTRICT_CODE
    version = str(cache.get(VERSION_CACHE_KEY) or "")
    etag = hashlib.sha1(f"analytics:{district}:{level}:{version}".encode(), usedforsecurity=False).hexdigest()[:20]
    key = f"analytics:layer:{etag}"
    body = cache.get(key)
    if body is None:
        from shapely.geometry import mapping, shape

        rows = [r for r in _rows(level, district) if r["boundary"]]
        geoms = _simplify([shape(r["boundary"]) for r in rows], TOLERANCE_DEG[level])
        features = []
        for row, geom in zip(rows, geoms, strict=True):
            if geom.is_empty:
                continue
            point = geom.representative_point()
            if level == "grid":
                name = row["name"] or row["code"]
                props = {"code": row["code"], "name": name, "parent": row["community__code"],
                         "street": row["street__code"], "community_name": row["community__short_name"] or row["community__name"]}
            else:
                props = {"code": row["code"], "name": row["short_name"] or row["name"], "parent": row["parent__code"]}
            props["cp"] = [round(point.x, DECIMALS), round(point.y, DECIMALS)]
            props["synthetic"] = row["synthetic"]
            geometry = mapping(geom)
            features.append({"type": "Feature", "properties": props,
                             "geometry": {"type": geometry["type"], "coordinates": _round(geometry["coordinates"])}})
        collection = {"type": "FeatureCollection", "level": level, "synthetic": any(f["properties"]["synthetic"] for f in features),
                      "features": features}
        body = json.dumps(collection, ensure_ascii=False, separators=(",", ":")).encode()
        cache.set(key, body, CACHE_SECONDS)
    return body, etag
