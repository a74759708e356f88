"""The one-square district of the API tests: district 630102 → one street → one community → one
grid, all on the same 2 km square near Xining (the `district` fixture builds it)."""

from __future__ import annotations

DISTRICT = "630102"
INSIDE = {"lon": 101.785, "lat": 36.625}
OUTSIDE = {"lon": 116.397, "lat": 39.909}


def square(lon0: float, lat0: float, lon1: float, lat1: float) -> dict:
    """A GeoJSON polygon from its west-south and east-north corners."""
    return {"type": "Polygon", "coordinates": [[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]]}


def build_district() -> dict:
    """The district, its street, community and grid (rows), all on the same small square."""
    from cityops.geo import lookup
    from cityops.geo.models import Region, RegionLevel, UnitGrid

    area = square(101.775, 36.615, 101.795, 36.635)
    root = Region.objects.create(code=DISTRICT, name="城东区", level=RegionLevel.DISTRICT, boundary=area)
    street = Region.objects.create(code=f"{DISTRICT}001", name="东关大街街道", level=RegionLevel.STREET, parent=root, boundary=area)
    community = Region.objects.create(code=f"{DISTRICT}001001", name="北关社区", level=RegionLevel.COMMUNITY, parent=street, boundary=area)
    grid = UnitGrid.objects.create(code=f"{DISTRICT}00100101", community=community, street=street, boundary=area)
    lookup.reset_index()
    return {"district": root, "street": street, "community": community, "grid": grid}


def case_body(category, /, **overrides) -> dict:
    """A valid body for POST /api/v1/cases inside the square, with overrides (None values kept)."""
    body = {
        "type": "complaint", "description": "小区门口暴露垃圾成堆，无人清理", **INSIDE,
        "address": "东关大街 12 号", "category": category.code,
        "reporter_name": "张三", "reporter_phone": "13812341234",
    }
    body.update(overrides)
    return body
