"""Point lookup against the full demo partition (written once for this module)."""

import pytest
import shapely
from django.core.cache import cache
from shapely.geometry import shape

from cityops.geo import lookup
from cityops.geo.coords import CoordSystem, haversine_m, wgs84_to_gcj02
from cityops.geo.lookup import Location, OutsideDistrictError, locate
from cityops.geo.models import Region, UnitGrid
from cityops.geo.tests.support import points_in

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def shapes(demo_db, django_db_blocker):
    with django_db_blocker.unblock():
        grids = {g.code: shape(g.boundary) for g in UnitGrid.objects.all()}
        regions = {r.code: shape(r.boundary) for r in Region.objects.exclude(boundary=None)}
    return grids, regions


def test_demo_partition_in_the_database_respects_the_code_rules(demo_db):
    assert demo_db.grids_created == UnitGrid.objects.count() > 1000
    for code, community, street in UnitGrid.objects.values_list("code", "community__code", "street__code"):
        assert len(code) == 14 and code.isdigit() and code.startswith("630102")
        assert code[:12] == community and code[:9] == street
    per_community = {}
    for community_id in UnitGrid.objects.values_list("community_id", flat=True):
        per_community[community_id] = per_community.get(community_id, 0) + 1
    assert len(per_community) == 60 and max(per_community.values()) <= 99


def test_points_in_the_district_resolve_to_the_grid_community_and_street_containing_them(
    shapes, district_geom
):
    grids, regions = shapes
    for lon, lat in points_in(district_geom, 2000):
        loc = locate(lon, lat)
        point = shapely.Point(lon, lat)
        assert grids[loc.grid_code].intersects(point)
        assert regions[loc.community_code].intersects(point)
        assert regions[loc.street_code].intersects(point)
        assert loc.grid_code[:12] == loc.community_code and loc.community_code[:9] == loc.street_code
        assert loc.coord_system is CoordSystem.WGS84


def test_a_known_point_gets_names_as_well_as_codes(demo_db):
    grid = UnitGrid.objects.select_related("community", "street").get(code="63010200100101")
    p = shape(grid.boundary).representative_point()
    loc = locate(p.x, p.y)
    assert loc == Location(
        lon=p.x,
        lat=p.y,
        grid_code="63010200100101",
        community_code="630102001001",
        community_name="北关社区居民委员会",
        street_code="630102001",
        street_name="东关大街街道",
        coord_system=CoordSystem.WGS84,
    )


@pytest.mark.parametrize(
    ("lon", "lat"),
    [
        (101.7300, 36.6200),  # 城中区/城西区, next door
        (101.9500, 36.5800),  # east of the district
        (116.3975, 39.9087),  # Beijing
        (2.3522, 48.8566),  # Paris
    ],
)
def test_a_point_outside_the_district_raises_instead_of_snapping_to_the_nearest_grid(demo_db, lon, lat):
    with pytest.raises(OutsideDistrictError, match="位置不在本辖区"):
        locate(lon, lat)
    assert not lookup.in_district(lon, lat)


def test_gcj02_input_is_converted_before_the_lookup(demo_db, district_geom):
    for lon, lat in points_in(district_geom, 50, seed=11):
        g_lon, g_lat = wgs84_to_gcj02(lon, lat)
        loc = locate(g_lon, g_lat, coord_system="gcj02")
        assert haversine_m(lon, lat, loc.lon, loc.lat) < 1.0
        assert loc.grid_code == locate(lon, lat).grid_code
        assert loc.coord_system is CoordSystem.GCJ02


def test_a_point_on_the_border_between_grids_gets_one_of_them(demo_db):
    a = shape(UnitGrid.objects.get(code="63010200100101").boundary)
    neighbour = next(
        g
        for g in UnitGrid.objects.filter(community__code="630102001001").exclude(code="63010200100101")
        if shape(g.boundary).intersection(a).length > 0
    )
    edge = shape(neighbour.boundary).intersection(a)
    mid = edge.interpolate(0.5, normalized=True)
    assert locate(mid.x, mid.y).grid_code in {"63010200100101", neighbour.code}


def test_without_grids_the_lookup_still_answers_community_and_street(demo_db, district_geom):
    UnitGrid.objects.all().delete()
    lon, lat = points_in(district_geom, 1, seed=3)[0]
    loc = locate(lon, lat)
    assert loc.grid_code is None
    assert loc.community_code and loc.street_code == loc.community_code[:9]


def test_the_index_follows_a_saved_change(demo_db):
    grid = UnitGrid.objects.get(code="63010200100101")
    p = shape(grid.boundary).representative_point()
    assert locate(p.x, p.y).grid_code == grid.code
    other = UnitGrid.objects.exclude(code=grid.code).first()
    other.boundary, grid.boundary = grid.boundary, other.boundary
    grid.save()
    other.save()
    assert locate(p.x, p.y).grid_code == other.code


def test_another_process_bumping_the_version_makes_this_one_rebuild(demo_db, settings):
    settings.CITYOPS_GEO_INDEX_CHECK_SECONDS = 0
    grid = UnitGrid.objects.get(code="63010200100101")
    p = shape(grid.boundary).representative_point()
    assert locate(p.x, p.y).grid_code == grid.code
    # A write that this process never saw (queryset.update sends no signal) …
    Region.objects.filter(code="630102001001").update(name="改名社区居民委员会")
    assert locate(p.x, p.y).community_name == "北关社区居民委员会"
    # … becomes visible once another process announces it through the shared cache.
    cache.set(lookup.VERSION_CACHE_KEY, "from-another-process", None)
    assert locate(p.x, p.y).community_name == "改名社区居民委员会"
