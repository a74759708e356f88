"""Lookup with partial data: nothing loaded, only the district, only streets."""

import pytest
from shapely.geometry import shape

from cityops.geo import synthetic
from cityops.geo.geometry import to_geojson
from cityops.geo.lookup import NoGeoDataError, OutsideDistrictError, locate
from cityops.geo.models import Region
from cityops.geo.tests.support import points_in

pytestmark = pytest.mark.django_db


def test_lookup_without_any_data_says_so(db):
    with pytest.raises(NoGeoDataError):
        locate(101.84, 36.58)


def test_with_only_the_district_outline_a_point_inside_has_no_street_yet(reference_regions, district_geom):
    lon, lat = points_in(district_geom, 1)[0]
    loc = locate(lon, lat)
    assert (loc.grid_code, loc.community_code, loc.street_code) == (None, None, None)
    with pytest.raises(OutsideDistrictError):
        locate(101.70, 36.60)


def test_with_only_street_boundaries_the_street_is_found(reference_regions, district_geom, street_specs):
    for code, geom in synthetic.partition_streets(district_geom, street_specs).items():
        Region.objects.filter(code=code).update(boundary=to_geojson(geom))
    from cityops.geo.lookup import index_changed

    index_changed()  # queryset.update sends no signal
    street = Region.objects.get(code="630102101")
    p = shape(street.boundary).representative_point()
    loc = locate(p.x, p.y)
    assert (loc.street_code, loc.street_name, loc.community_code, loc.grid_code) == (
        "630102101",
        "韵家口镇",
        None,
        None,
    )
