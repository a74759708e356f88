import json

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from cityops.geo import reference
from cityops.geo.coords import wgs84_to_gcj02_array
from cityops.geo.geometry import area_m2
from cityops.geo.models import Region
from cityops.testing.shared_data import needs_shared, shared_path

RAW = shared_path("geo")
needs_raw = needs_shared("geo")


def test_district_file_is_a_valid_wgs84_outline_of_about_117_km2():
    geom = reference.district_boundary("630102")
    assert geom.is_valid
    assert 115e6 < area_m2(geom) < 119e6
    minx, miny, maxx, maxy = geom.bounds
    assert 101.7 < minx < maxx < 102.0 and 36.4 < miny < maxy < 36.7
    # Coordinates are published with 6 decimals.
    coords = shapely.get_coordinates(geom)
    assert np.allclose(coords, np.round(coords, 6), atol=1e-12)


@needs_raw
def test_district_file_converts_back_onto_the_gcj02_source():
    source = json.loads((RAW / "630102_chengdong_district.geojson").read_text())
    src = shapely.get_coordinates(shape(source["features"][0]["geometry"]))
    shipped = shapely.get_coordinates(reference.district_boundary("630102"))
    assert src.shape == shipped.shape
    assert np.abs(wgs84_to_gcj02_array(shipped) - src).max() < 2e-6  # rounding to 6 decimals


@needs_raw
def test_shipped_region_list_is_reproducible_from_the_sources():
    built = reference.build_regions(
        "630102", "城东区", RAW / "chengdong_streets.csv", RAW / "chengdong_communities.csv"
    )
    assert built == reference.reference_regions("630102")


def test_region_list_has_district_streets_park_and_sixty_communities():
    regions = reference.reference_regions("630102")["regions"]
    by_level = {lvl: [r for r in regions if r["level"] == lvl] for lvl in ("district", "street", "community")}
    assert [r["code"] for r in by_level["district"]] == ["630102"]
    assert len(by_level["street"]) == 10
    assert len(by_level["community"]) == 60
    kinds = {r["code"]: r["kind"] for r in by_level["street"]}
    assert sorted(kinds.values()).count("街道") == 7
    assert kinds["630102100"] == kinds["630102101"] == "镇"
    assert kinds["630102400"] == "园区"
    for r in by_level["community"]:
        assert len(r["code"]) == 12 and r["code"][:9] == r["parent"]
        assert r["kind"] in {"社区", "村", "虚拟社区"}
    park = next(r for r in by_level["community"] if r["parent"] == "630102400")
    assert park["code"] == "630102400001" and park["kind"] == "虚拟社区"


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("北关社区居民委员会", "北关社区"),
        ("林家崖村村民委员会", "林家崖村"),
        ("韵家口村民委员会", "韵家口村"),
        ("东川工业园虚拟社区", "东川工业园虚拟社区"),
    ],
)
def test_short_names_drop_the_committee_suffix(name, short):
    assert reference.short_name(name) == short


def test_loading_reference_regions_twice_creates_nothing_new(db):
    from cityops.geo.services import load_reference_regions

    first = load_reference_regions()
    second = load_reference_regions()
    assert (first.created, second.created, second.updated, second.unchanged) == (71, 0, 0, 71)
    assert Region.objects.count() == 71
    district = Region.objects.get(code="630102")
    assert district.boundary["type"] == "MultiPolygon" and not district.synthetic
    assert Region.objects.get(code="630102001001").parent.code == "630102001"
    assert Region.objects.get(code="630102001001").display_name == "北关社区"


@needs_raw
def test_build_reference_command_reproduces_the_shipped_files(tmp_path):
    from django.core.management import call_command

    call_command("geo_build_reference", "--source", str(RAW), "--out", str(tmp_path), stdout=None)
    for name in ("district_630102.geojson", "regions_630102.json"):
        assert (tmp_path / name).read_bytes() == (reference.DATA_DIR / name).read_bytes()
