"""Read-only queries that feed maps (ECharts registers GeoJSON FeatureCollections) and pickers."""

from __future__ import annotations

from typing import Any, Literal

from django.conf import settings

from cityops.geo.models import Region, RegionLevel, UnitGrid


def layer_geojson(
    level: Literal["district", "street", "community", "grid"], *, parent_code: str | None = None
) -> dict[str, Any]:
    """A FeatureCollection of one layer (optionally only below `parent_code`), WGS-84.

    Feature properties: code, name, short_name (regions), parent code, synthetic; features
    without a boundary are left out.
    """
    prefix = parent_code or settings.CITYOPS_DISTRICT_CODE
    features: list[dict[str, Any]] = []
    if level == "grid":
        grids = UnitGrid.objects.filter(code__startswith=prefix).select_related("community").order_by("code")
        for g in grids:
            features.append(
                {
                    "type": "Feature",
                    "geometry": g.boundary,
                    "properties": {
                        "code": g.code,
                        "name": g.name or g.code,
                        "community": g.community.code,
                        "community_name": g.community.display_name,
                        "synthetic": g.synthetic,
                    },
                }
            )
    else:
        regions = Region.objects.filter(
            level=RegionLevel(level), code__startswith=prefix, boundary__isnull=False
        )
        for r in regions.select_related("parent").order_by("code"):
            features.append(
                {
                    "type": "Feature",
                    "geometry": r.boundary,
                    "properties": {
                        "code": r.code,
                        "name": r.name,
                        "short_name": r.display_name,
                        "parent": r.parent.code if r.parent else None,
                        "synthetic": r.synthetic,
                    },
                }
            )
    return {"type": "FeatureCollection", "features": features}


def region_choices(
    level: Literal["street", "community"], *, parent_code: str | None = None
) -> list[tuple[str, str]]:
    """(code, display name) pairs for form pickers."""
    qs = Region.objects.filter(
        level=RegionLevel(level), code__startswith=parent_code or settings.CITYOPS_DISTRICT_CODE
    )
    return [
        (code, short or name)
        for code, name, short in qs.order_by("code").values_list("code", "name", "short_name")
    ]
