import numpy as np
import pytest

from cityops.geo.coords import (
    CoordSystem,
    gcj02_to_wgs84,
    gcj02_to_wgs84_array,
    haversine_m,
    out_of_china,
    to_wgs84,
    wgs84_to_gcj02,
    wgs84_to_gcj02_array,
)

# Corners, centre and a few streets of 城东区 (WGS-84).
DISTRICT_POINTS = [
    (101.7741, 36.5253),
    (101.9125, 36.6537),
    (101.8409, 36.5831),
    (101.7920, 36.6200),
    (101.8100, 36.6400),
    (101.8800, 36.5500),
    (101.9000, 36.5800),
    (101.7800, 36.5700),
]


@pytest.mark.parametrize(("lon", "lat"), DISTRICT_POINTS)
def test_gcj02_round_trip_stays_within_one_metre_in_the_district(lon, lat):
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    back = gcj02_to_wgs84(g_lon, g_lat)
    assert haversine_m(lon, lat, *back) < 1.0
    # And the other way round: a GCJ-02 input maps back onto itself.
    w = gcj02_to_wgs84(lon, lat)
    assert haversine_m(lon, lat, *wgs84_to_gcj02(*w)) < 1.0


def test_gcj02_offset_in_xining_is_a_few_hundred_metres():
    lon, lat = 101.8409, 36.5831
    shift = haversine_m(lon, lat, *wgs84_to_gcj02(lon, lat))
    assert 100 < shift < 1000


@pytest.mark.parametrize(
    ("lon", "lat"), [(2.3522, 48.8566), (-74.006, 40.7128), (151.2093, -33.8688), (139.76, 35.68)]
)
def test_points_outside_china_pass_through_unchanged(lon, lat):
    assert out_of_china(lon, lat)
    assert wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert gcj02_to_wgs84(lon, lat) == (lon, lat)
    assert to_wgs84(lon, lat, "gcj02") == (lon, lat)
    arr = np.array([[lon, lat]])
    assert (gcj02_to_wgs84_array(arr) == arr).all()


def test_to_wgs84_accepts_enum_or_name_and_leaves_wgs84_alone():
    assert to_wgs84(101.8, 36.6, CoordSystem.WGS84) == (101.8, 36.6)
    assert to_wgs84(101.8, 36.6) == (101.8, 36.6)
    assert to_wgs84(101.8, 36.6, "gcj02") == gcj02_to_wgs84(101.8, 36.6)
    with pytest.raises(ValueError):
        to_wgs84(101.8, 36.6, "bd09")


def test_vectorised_transforms_agree_with_scalar_ones():
    pts = np.array(DISTRICT_POINTS)
    fwd = wgs84_to_gcj02_array(pts)
    inv = gcj02_to_wgs84_array(pts)
    for (lon, lat), f, i in zip(DISTRICT_POINTS, fwd, inv, strict=True):
        assert np.allclose(f, wgs84_to_gcj02(lon, lat), atol=1e-12)
        assert np.allclose(i, gcj02_to_wgs84(lon, lat), atol=1e-9)
