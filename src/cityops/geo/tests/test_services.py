import json
from io import StringIO

import pytest
import shapely
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from shapely.geometry import box, shape

from cityops.geo import synthetic
from cityops.geo.coords import wgs84_to_gcj02_array
from cityops.geo.models import Region, UnitGrid
from cityops.geo.services import GeoImportError, generate_demo_partition, import_layer
from cityops.geo.tests.support import collection, feature, same_region

pytestmark = pytest.mark.django_db


def _snapshot():
    return (
        sorted(Region.objects.values_list("code", "name", "boundary", "synthetic", "updated_at")),
        sorted(
            UnitGrid.objects.values_list("code", "community__code", "boundary", "synthetic", "updated_at")
        ),
    )


def _quadrants(geom):
    """Four pieces of a polygon, for hand-made 'surveyed' grids."""
    minx, miny, maxx, maxy = geom.bounds
    cx, cy = geom.centroid.x, geom.centroid.y
    boxes = [
        box(minx, miny, cx, cy),
        box(cx, miny, maxx, cy),
        box(minx, cy, cx, maxy),
        box(cx, cy, maxx, maxy),
    ]
    return [shapely.intersection(geom, b) for b in boxes]


def _community_geom(code: str):
    return shape(Region.objects.get(code=code).boundary)


# --- demo partition --------------------------------------------------------------------------


def test_demo_partition_run_twice_changes_nothing(reference_regions):
    first = generate_demo_partition(street_codes=["630102001"])
    assert first.grids_created > 50 and first.communities == 3
    before = _snapshot()
    second = generate_demo_partition(street_codes=["630102001"])
    assert (second.grids_created, second.grids_updated, second.grids_deleted) == (0, 0, 0)
    assert second.grids_unchanged == first.grids_created
    assert _snapshot() == before
    assert not UnitGrid.objects.filter(synthetic=False).exists()
    assert Region.objects.get(code="630102001").synthetic


def test_demo_partition_keeps_real_streets_and_fills_communities_inside_them(
    reference_regions, district_geom, street_specs
):
    surveyed = synthetic.partition_streets(district_geom, street_specs, seed=4242)
    import_layer(collection(*(feature(code, geom) for code, geom in surveyed.items())), "street")
    result = generate_demo_partition(street_codes=["630102001"])
    street = Region.objects.get(code="630102001")
    assert not street.synthetic
    assert shape(street.boundary).equals_exact(surveyed["630102001"], 1e-7)
    assert result.streets == 0 and any("实测街道" in note for note in result.skipped)
    communities = [shape(c.boundary) for c in street.children.all()]
    assert all(c.synthetic for c in street.children.all())
    assert same_region(shapely.union_all(communities), shape(street.boundary))


def test_demo_partition_leaves_communities_with_real_grids_alone(reference_regions):
    generate_demo_partition(street_codes=["630102001"])
    community = _community_geom("630102001001")
    import_layer(
        collection(*(feature(f"6301020010010{i}", g) for i, g in enumerate(_quadrants(community), 1))), "grid"
    )
    generate_demo_partition(street_codes=["630102001"])
    assert sorted(
        UnitGrid.objects.filter(community__code="630102001001").values_list("code", "synthetic")
    ) == [(f"6301020010010{i}", False) for i in range(1, 5)]
    assert UnitGrid.objects.filter(community__code="630102001002", synthetic=True).exists()


# --- import: success ---------------------------------------------------------------------------


def test_valid_street_import_stores_real_boundaries(reference_regions, full_partition):
    data = collection(*(feature(code, geom, name="") for code, geom in full_partition.streets.items()))
    result = import_layer(data, "street")
    assert (result.created, result.updated) == (0, 10)
    street = Region.objects.get(code="630102003")
    assert street.name == "大众街街道" and not street.synthetic and street.area_m2 > 1e6
    assert shape(street.boundary).equals_exact(full_partition.streets["630102003"], 1e-7)


def test_real_grid_import_replaces_the_synthetic_grids(reference_regions):
    generate_demo_partition(street_codes=["630102001"])
    pieces = _quadrants(_community_geom("630102001002"))
    data = collection(
        *(feature(f"6301020010020{i}", g, name=f"慈幼{i}号网格") for i, g in enumerate(pieces, 1))
    )
    result = import_layer(data, "grid")
    assert result.created == 4 and result.synthetic_grids_deleted > 50
    grids = UnitGrid.objects.order_by("code")
    assert [(g.code, g.name, g.synthetic, g.street.code) for g in grids] == [
        (f"6301020010020{i}", f"慈幼{i}号网格", False, "630102001") for i in range(1, 5)
    ]


def test_import_accepts_gcj02_files_on_disk(reference_regions, full_partition, tmp_path):
    wgs = full_partition.communities["630102005002"]
    gcj = shapely.transform(wgs, wgs84_to_gcj02_array)
    path = tmp_path / "communities.geojson"
    path.write_text(
        json.dumps(collection(feature("630102005002", gcj, 名称="中庄社区居民委员会"))), encoding="utf-8"
    )
    import_layer(path, "community", coord_system="gcj02")
    stored = shape(Region.objects.get(code="630102005002").boundary)
    assert stored.hausdorff_distance(wgs) < 1e-5  # ~1 m
    assert not stored.equals_exact(gcj, 1e-4)


def test_auto_level_imports_a_new_community_with_its_grids_from_one_file(reference_regions, full_partition):
    community = full_partition.communities["630102001001"]
    pieces = _quadrants(community)
    data = collection(
        feature("630102001004", community, name="新建社区居民委员会"),
        *(feature(f"6301020010040{i}", g) for i, g in enumerate(pieces, 1)),
    )
    with pytest.raises(GeoImportError) as exc:
        import_layer(collection(*data["features"][1:]), "grid")
    assert "所属社区/村 630102001004 不存在" in exc.value.errors[0]
    result = import_layer(data, "auto")
    assert result.levels == ["community", "grid"] and result.created == 5
    created = Region.objects.get(code="630102001004")
    assert (created.kind, created.short_name, created.parent.code) == ("社区", "新建社区", "630102001")
    assert created.grids.count() == 4


# --- import: rejection -------------------------------------------------------------------------


def test_rejected_import_reports_every_bad_feature_and_writes_nothing(reference_regions):
    generate_demo_partition(street_codes=["630102001"])
    before = _snapshot()
    good = _quadrants(_community_geom("630102001001"))
    cx, cy = good[0].centroid.x, good[0].centroid.y
    d = 0.001
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[cx, cy], [cx + d, cy + d], [cx + d, cy], [cx, cy + d], [cx, cy]]],
    }
    data = collection(
        feature("63010200100101", good[0]),
        feature("63010200100102", bowtie),
        feature("63010200100101", good[1]),
        feature("63010200100104", box(101.70, 36.60, 101.71, 36.61)),
        feature("63010200100105", good[3]),
    )
    with pytest.raises(GeoImportError) as exc:
        import_layer(data, "grid")
    assert exc.value.errors == [
        "第2个要素 (编码 63010200100102): 几何图形无效 (自相交)",
        "第3个要素 (编码 63010200100101): 编码与第1个要素重复",
        "第4个要素 (编码 63010200100104): 超出辖区边界 (仅 0.0% 位于辖区 630102 内)",
    ]
    assert isinstance(exc.value, ValidationError) and exc.value.messages == exc.value.errors
    assert _snapshot() == before


@pytest.mark.parametrize(
    ("level", "code", "expected"),
    [
        ("street", "63010200", "编码格式错误: 街道/镇编码应为 9 位数字"),
        ("street", "630103001", "编码不属于本辖区 (应以 630102 开头)"),
        ("community", "630102009001", "上级街道/镇 630102009 不存在"),
        ("grid", "63010200100A01", "编码格式错误: 单元网格编码应为 14 位数字"),
        ("grid", "63010200109901", "所属社区/村 630102001099 不存在"),
        ("auto", "6301020010", "编码格式错误: 应为 9 位 (街道/镇)、12 位 (社区/村) 或 14 位 (单元网格) 数字"),
    ],
)
def test_import_rejects_wrong_codes_and_unknown_parents(
    reference_regions, district_geom, level, code, expected
):
    inside = box(101.83, 36.58, 101.835, 36.585)
    with pytest.raises(GeoImportError) as exc:
        import_layer(collection(feature(code, inside, name="某某")), level)
    assert exc.value.errors == [f"第1个要素 (编码 {code}): {expected}"]


@pytest.mark.parametrize(
    ("geometry", "expected"),
    [
        (
            {"type": "LineString", "coordinates": [[101.83, 36.58], [101.84, 36.59]]},
            "几何类型 LineString 不支持",
        ),
        ({"type": "Polygon", "coordinates": [[["a", "b"], [1]]]}, "几何图形无法解析"),
        (
            {
                "type": "Polygon",
                "coordinates": [[[500000, 4000000], [500100, 4000000], [500100, 4000100], [500000, 4000000]]],
            },
            "坐标超出经纬度范围",
        ),
        (None, "缺少几何图形"),
    ],
)
def test_import_rejects_unusable_geometry(reference_regions, geometry, expected):
    data = collection({"type": "Feature", "properties": {"CODE": 630102001001}, "geometry": geometry})
    with pytest.raises(GeoImportError) as exc:
        import_layer(data, "community")
    assert len(exc.value.errors) == 1
    assert exc.value.errors[0].startswith("第1个要素 (编码 630102001001): " + expected)


def test_import_rejects_files_that_are_not_geojson(reference_regions, tmp_path):
    path = tmp_path / "broken.geojson"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(GeoImportError, match="不是有效的 JSON"):
        import_layer(path, "street")
    with pytest.raises(GeoImportError, match="FeatureCollection"):
        import_layer({"type": "Topology"}, "street")


def test_import_needs_the_district_loaded_first(db):
    with pytest.raises(GeoImportError, match="尚未加载"):
        import_layer(collection(), "street")


# --- commands ----------------------------------------------------------------------------------


def test_geo_import_command_prints_each_error_and_fails(reference_regions, tmp_path):
    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps(collection(feature("63010200100101", box(101.70, 36.60, 101.71, 36.61)))))
    err = StringIO()
    with pytest.raises(CommandError, match="未写入任何数据"):
        call_command("geo_import", str(path), "--level", "grid", stderr=err)
    assert "第1个要素 (编码 63010200100101): 超出辖区边界" in err.getvalue()
    assert not UnitGrid.objects.exists()


def test_geo_load_demo_and_import_commands_succeed(db, full_partition, tmp_path):
    out = StringIO()
    call_command("geo_load", stdout=out)
    call_command("geo_demo", "--street", "630102007", stdout=out)
    assert UnitGrid.objects.filter(code__startswith="630102007").count() > 20
    path = tmp_path / "streets.geojson"
    path.write_text(json.dumps(collection(feature("630102007", full_partition.streets["630102007"]))))
    call_command("geo_import", str(path), "--level", "street", stdout=out)
    assert "导入完成" in out.getvalue()
    assert not Region.objects.get(code="630102007").synthetic


def test_importing_real_streets_clears_synthetic_geometry_below_them(reference_regions, full_partition):
    generate_demo_partition(street_codes=["630102001", "630102002"])
    assert UnitGrid.objects.filter(synthetic=True).exists()
    result = import_layer(collection(feature("630102001", full_partition.streets["630102001"])), "street")
    assert result.synthetic_grids_deleted > 100 and not UnitGrid.objects.exists()
    # Both synthetic streets (the imported one is then overwritten) and their 3 + 5 communities.
    assert result.synthetic_boundaries_cleared == 2 + 8
    assert Region.objects.get(code="630102002").boundary is None
    assert not Region.objects.filter(level="community").exclude(boundary=None).exists()
