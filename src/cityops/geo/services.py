"""Business operations on regions and unit grids: reference loading, the synthetic demo
partition and the import of surveyed layers.

All three are idempotent and transactional, and each tells the lookup index that the
layers changed.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import shapely
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from cityops.geo import reference, synthetic
from cityops.geo.coords import CoordSystem, CoordSystemName
from cityops.geo.geometry import LocalProjection, area_m2, geometry_to_wgs84, to_geojson
from cityops.geo.lookup import index_changed
from cityops.geo.models import Region, RegionLevel, UnitGrid
from cityops.geo.reference import short_name, street_kind

LayerLevel = Literal["street", "community", "grid"]
CODE_LENGTH: dict[str, int] = {"street": 9, "community": 12, "grid": 14}
LEVEL_LABEL = {"street": "街道/镇", "community": "社区/村", "grid": "单元网格"}
# A surveyed feature may overhang the district outline a little (different survey bases,
# generalisation); beyond 1 % of its area it is most likely in the wrong place.
MIN_SHARE_INSIDE_DISTRICT = 0.99

# Property names that carry the code / name in survey files, compared case-insensitively.
CODE_KEYS = (
    "code",
    "adcode",
    "gb",
    "xzqdm",
    "qhdm",
    "wgbm",
    "grid_code",
    "gridcode",
    "jdbm",
    "sqbm",
    "编码",
    "代码",
    "区划代码",
    "网格编码",
    "街道编码",
    "社区编码",
)
NAME_KEYS = (
    "name",
    "mc",
    "xzqmc",
    "qhmc",
    "wgmc",
    "grid_name",
    "jdmc",
    "sqmc",
    "名称",
    "网格名称",
    "街道名称",
    "社区名称",
)
KIND_KEYS = ("kind", "type", "lx", "类型")

# GEOS validity reasons (is_valid_reason) in the words of a GIS clerk.
VALIDITY_REASONS = {
    "Ring Self-intersection": "环自相交",
    "Self-intersection": "自相交",
    "Too few points": "点数不足",
    "Hole lies outside shell": "内环位于外环之外",
    "Nested holes": "内环嵌套",
    "Interior is disconnected": "内部不连通",
    "Nested shells": "外环嵌套",
    "Duplicate Rings": "重复的环",
    "Invalid Coordinate": "坐标无效",
    "Ring is not closed": "环未闭合",
}


def district_code() -> str:
    return settings.CITYOPS_DISTRICT_CODE


class GeoDataError(Exception):
    """Reference data for the configured district is missing or inconsistent."""


class GeoImportError(ValidationError):
    """An import was rejected; `errors` lists one Chinese message per offending feature."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__(self.errors)

    def __str__(self) -> str:
        return "\n".join(self.errors)


# --- reference regions --------------------------------------------------------------------------


@dataclass
class LoadResult:
    """What `load_reference_regions` did."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


@transaction.atomic
def load_reference_regions(code: str | None = None) -> LoadResult:
    """Create or update the district, its streets/towns and communities/villages from the
    shipped reference files (matched by code; rows already up to date are not written).
    Boundaries of streets and communities are left alone (they come from imports or the
    demo partition); the district outline is taken from the shipped file."""
    code = code or district_code()
    data = reference.reference_regions(code)
    if data is None:
        raise GeoDataError(f"未找到辖区 {code} 的参考数据文件 ({reference.regions_file(code).name})")
    outline = reference.district_boundary(code)
    result = LoadResult()
    existing = {r.code: r for r in Region.objects.filter(code__in=[row["code"] for row in data["regions"]])}
    by_code: dict[str, Region] = {}
    for row in data["regions"]:
        values: dict[str, Any] = {
            "name": row["name"],
            "short_name": row.get("short_name", ""),
            "level": row["level"],
            "kind": row.get("kind", ""),
            "parent_id": by_code[row["parent"]].pk if row["parent"] else None,
        }
        if row["level"] == RegionLevel.DISTRICT and outline is not None:
            values |= {
                "boundary": to_geojson(outline, reference.DISTRICT_DECIMALS),
                "area_m2": area_m2(outline),
                "synthetic": False,
            }
        region = existing.get(row["code"])
        if region is None:
            region = Region.objects.create(code=row["code"], **values)
            result.created += 1
        elif any(getattr(region, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(region, key, value)
            region.save()
            result.updated += 1
        else:
            result.unchanged += 1
        by_code[region.code] = region
    if result.created or result.updated:
        index_changed()
    return result


# --- synthetic demo partition ----------------------------------------------------------------


@dataclass
class DemoResult:
    """What `generate_demo_partition` did."""

    streets: int = 0
    communities: int = 0
    grids_created: int = 0
    grids_updated: int = 0
    grids_unchanged: int = 0
    grids_deleted: int = 0
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def grids(self) -> int:
        return self.grids_created + self.grids_updated + self.grids_unchanged


def _is_real(region: Region) -> bool:
    return bool(region.boundary) and not region.synthetic


def _save_synthetic_boundary(region: Region, geom: BaseGeometry) -> None:
    boundary = to_geojson(geom)
    if region.boundary == boundary and region.synthetic:
        return
    region.boundary, region.area_m2, region.synthetic = boundary, area_m2(geom), True
    region.save(update_fields=["boundary", "area_m2", "synthetic", "updated_at"])


@transaction.atomic
def generate_demo_partition(
    code: str | None = None,
    *,
    seed: int = synthetic.DEFAULT_SEED,
    street_codes: Iterable[str] | None = None,
) -> DemoResult:
    """Store a synthetic partition of the district into streets, communities and grids.

    Idempotent: the same seed gives the same geometry and codes, so a second run changes
    nothing. Real (surveyed) layers win: if any street has a real boundary no street is
    redrawn, a street with any real community keeps its communities, and a community with
    any real grid gets no synthetic grids. Missing levels below real ones are still
    generated inside the real boundaries. `street_codes` limits the work to some streets.
    """
    started = time.perf_counter()
    code = code or district_code()
    load_reference_regions(code)
    result = DemoResult()
    district = Region.objects.get(code=code, level=RegionLevel.DISTRICT)
    if not district.boundary:
        raise GeoDataError(f"辖区 {code} 没有边界数据")
    district_geom = shape(district.boundary)
    proj = LocalProjection.around(district_geom)
    wanted = set(street_codes) if street_codes is not None else None

    streets = list(Region.objects.filter(parent=district, level=RegionLevel.STREET).order_by("code"))
    communities_by_street: dict[int, list[Region]] = {}
    for c in Region.objects.filter(parent__in=streets, level=RegionLevel.COMMUNITY).order_by("code"):
        if c.parent_id is not None:
            communities_by_street.setdefault(c.parent_id, []).append(c)
    specs = {
        s.code: synthetic.StreetSpec(
            code=s.code,
            name=s.name,
            kind=s.kind or street_kind(s.code, s.name),
            communities=tuple(
                synthetic.RegionSpec(c.code, c.name, c.kind) for c in communities_by_street.get(s.id, [])
            ),
        )
        for s in streets
    }

    street_geoms: dict[str, BaseGeometry] = {}
    if any(_is_real(s) for s in streets):
        result.skipped.append("已有实测街道边界，未生成合成街道")
        street_geoms = {s.code: shape(s.boundary) for s in streets if s.boundary}
    else:
        street_geoms = synthetic.partition_streets(
            district_geom, list(specs.values()), seed=seed, projection=proj
        )
        for s in streets:
            if wanted is None or s.code in wanted:
                _save_synthetic_boundary(s, street_geoms[s.code])
                result.streets += 1

    with_real_grids = set(
        UnitGrid.objects.filter(street__in=streets, synthetic=False).values_list("community_id", flat=True)
    )
    grid_plans: list[tuple[Region, Region, list[synthetic.SyntheticGrid]]] = []
    for s in streets:
        if (wanted is not None and s.code not in wanted) or s.code not in street_geoms:
            continue
        communities = communities_by_street.get(s.id, [])
        if any(_is_real(c) for c in communities):
            result.skipped.append(f"{s.name} 已有实测社区边界，未生成合成社区")
            community_geoms = {c.code: shape(c.boundary) for c in communities if c.boundary}
        else:
            community_geoms = synthetic.partition_communities(
                street_geoms[s.code], specs[s.code], seed=seed, projection=proj
            )
            for c in communities:
                _save_synthetic_boundary(c, community_geoms[c.code])
                result.communities += 1
        for c in communities:
            if c.code not in community_geoms:
                continue
            if c.id in with_real_grids:
                result.skipped.append(f"{c.name} 已有实测网格，未生成合成网格")
                continue
            grids = synthetic.partition_grids(
                community_geoms[c.code],
                synthetic.RegionSpec(c.code, c.name, c.kind),
                specs[s.code].kind,
                projection=proj,
            )
            grid_plans.append((s, c, grids))

    _store_synthetic_grids(grid_plans, result)
    index_changed()
    result.seconds = time.perf_counter() - started
    return result


def _store_synthetic_grids(
    plans: list[tuple[Region, Region, list[synthetic.SyntheticGrid]]], result: DemoResult
) -> None:
    """Write planned grids in bulk: create new codes, update changed rows, delete stale ones."""
    existing: dict[str, UnitGrid] = {
        g.code: g for g in UnitGrid.objects.filter(community_id__in=[c.id for _s, c, _g in plans])
    }
    to_create: list[UnitGrid] = []
    to_update: list[UnitGrid] = []
    keep: set[str] = set()
    for street, community, grids in plans:
        for g in grids:
            keep.add(g.code)
            boundary = to_geojson(g.geometry)
            row = existing.get(g.code)
            if row is None:
                to_create.append(
                    UnitGrid(
                        code=g.code,
                        community=community,
                        street=street,
                        boundary=boundary,
                        area_m2=round(g.area_m2, 1),
                        synthetic=True,
                    )
                )
            elif row.boundary != boundary or row.street_id != street.id or not row.synthetic:
                row.boundary, row.street, row.area_m2, row.synthetic = (
                    boundary,
                    street,
                    round(g.area_m2, 1),
                    True,
                )
                row.updated_at = timezone.now()  # bulk_update bypasses auto_now
                to_update.append(row)
            else:
                result.grids_unchanged += 1
    stale = [g.pk for code, g in existing.items() if code not in keep]
    if stale:
        UnitGrid.objects.filter(pk__in=stale).delete()
    UnitGrid.objects.bulk_create(to_create, batch_size=500)
    UnitGrid.objects.bulk_update(
        to_update, ["boundary", "street", "area_m2", "synthetic", "updated_at"], batch_size=200
    )
    result.grids_created += len(to_create)
    result.grids_updated += len(to_update)
    result.grids_deleted += len(stale)


# --- import of surveyed layers ---------------------------------------------------------------


@dataclass
class ImportResult:
    """What `import_layer` did."""

    created: int = 0
    updated: int = 0
    synthetic_grids_deleted: int = 0
    synthetic_boundaries_cleared: int = 0
    levels: list[str] = field(default_factory=list)


@dataclass
class _Feature:
    index: int  # 1-based position in the file
    code: str
    level: str
    name: str
    kind: str
    geometry: BaseGeometry | None
    errors: list[str] = field(default_factory=list)
    code_ok: bool = False  # format and district prefix valid: parent checks make sense

    def label(self) -> str:
        return f"第{self.index}个要素 (编码 {self.code})" if self.code else f"第{self.index}个要素"


def _property(props: Mapping[str, Any], keys: Iterable[str]) -> Any:
    lowered = {str(k).strip().lower(): v for k, v in props.items()}
    for key in keys:
        value = lowered.get(key.lower())
        if value not in (None, ""):
            return value
    return None


def _code_text(value: Any) -> str:
    # Codes often arrive as numbers from shapefile conversions (630102001001.0).
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() if value is not None else ""


def _validity_message(geom: BaseGeometry) -> str:
    reason = shapely.is_valid_reason(geom)
    for english, chinese in VALIDITY_REASONS.items():
        if reason.startswith(english):
            return f"几何图形无效 ({chinese})"
    return f"几何图形无效 ({reason})"


def _read_source(source: Mapping[str, Any] | str | Path) -> Mapping[str, Any]:
    if isinstance(source, Mapping):
        return source
    try:
        text = Path(source).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise GeoImportError([f"无法读取文件 {source}: {exc}"]) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GeoImportError([f"文件不是有效的 JSON (第{exc.lineno}行): {exc.msg}"]) from exc
    if not isinstance(data, Mapping):
        raise GeoImportError(["文件不是 GeoJSON 对象"])
    return data


def _parse_geometry(raw: Any, system: CoordSystem) -> tuple[BaseGeometry | None, str | None]:
    if not isinstance(raw, Mapping) or not raw:
        return None, "缺少几何图形"
    if raw.get("type") not in ("Polygon", "MultiPolygon"):
        return None, f"几何类型 {raw.get('type')} 不支持，应为 Polygon 或 MultiPolygon"
    try:
        geom = shape(raw)
        coords = shapely.get_coordinates(geom)
    except Exception as exc:  # shapely raises a variety of types on malformed coordinates
        return None, f"几何图形无法解析 ({exc})"
    if geom.is_empty:
        return None, "几何图形为空"
    lon, lat = coords[:, 0], coords[:, 1]
    if not ((np.abs(lon) <= 180) & (np.abs(lat) <= 90)).all():
        return None, "坐标超出经纬度范围 (应为 WGS-84 或 GCJ-02 经纬度，而非投影坐标)"
    if not geom.is_valid:
        return None, _validity_message(geom)
    geom = geometry_to_wgs84(geom, system)
    if not geom.is_valid:  # the datum shift can, in theory, fold a razor-thin ring
        return None, _validity_message(geom)
    if geom.area == 0:
        return None, "几何图形面积为零"
    return geom, None


def _parse_features(
    data: Mapping[str, Any], level: str, system: CoordSystem, code_prefix: str
) -> list[_Feature]:
    if data.get("type") == "FeatureCollection":
        raw_features = data.get("features")
        if not isinstance(raw_features, list):
            raise GeoImportError(["FeatureCollection 缺少 features 列表"])
    elif data.get("type") == "Feature":
        raw_features = [data]
    else:
        raise GeoImportError(["文件不是 GeoJSON FeatureCollection"])
    if not raw_features:
        raise GeoImportError(["文件中没有要素"])

    features: list[_Feature] = []
    for index, raw in enumerate(raw_features, start=1):
        if not isinstance(raw, Mapping) or raw.get("type") != "Feature":
            f = _Feature(index, "", level, "", "", None)
            f.errors.append("不是 GeoJSON 要素 (Feature)")
            features.append(f)
            continue
        props = raw.get("properties") or {}
        props = props if isinstance(props, Mapping) else {}
        code = _code_text(_property(props, CODE_KEYS))
        name = str(_property(props, NAME_KEYS) or "").strip()
        kind = str(_property(props, KIND_KEYS) or "").strip()
        f = _Feature(index, code, level, name, kind, None)
        features.append(f)
        if not code:
            f.errors.append("缺少编码属性 (code)")
        elif level == "auto":
            f.level = next((lvl for lvl, n in CODE_LENGTH.items() if n == len(code)), "")
            if not f.level or not code.isdigit():
                f.errors.append("编码格式错误: 应为 9 位 (街道/镇)、12 位 (社区/村) 或 14 位 (单元网格) 数字")
        elif not (code.isdigit() and len(code) == CODE_LENGTH[level]):
            f.errors.append(f"编码格式错误: {LEVEL_LABEL[level]}编码应为 {CODE_LENGTH[level]} 位数字")
        if code and not f.errors:
            if code.startswith(code_prefix):
                f.code_ok = True
            else:
                f.errors.append(f"编码不属于本辖区 (应以 {code_prefix} 开头)")
        if len(name) > 64:
            f.errors.append("名称过长 (最多 64 个字符)")
        f.geometry, problem = _parse_geometry(raw.get("geometry"), system)
        if problem:
            f.errors.append(problem)
    return features


def _check_features(features: list[_Feature], district: Region, district_geom: BaseGeometry) -> None:
    """Cross-feature and database checks; appends messages to each feature's errors."""
    first_seen: dict[str, int] = {}
    for f in features:
        if not f.code:
            continue
        if f.code in first_seen:
            f.errors.append(f"编码与第{first_seen[f.code]}个要素重复")
        else:
            first_seen[f.code] = f.index

    codes = [f.code for f in features if f.code]
    parent_codes = {f.code[:9] for f in features if f.level == "community"} | {
        f.code[:12] for f in features if f.level == "grid"
    }
    known = {r.code: r for r in Region.objects.filter(code__in=set(codes) | parent_codes)}
    in_file = {f.code: f for f in features if f.code_ok and f.level in ("street", "community")}

    shapely.prepare(district_geom)
    proj = LocalProjection.around(district_geom)
    for f in features:
        if f.geometry is not None:
            inside = proj.to_metric(shapely.intersection(f.geometry, district_geom)).area
            total = proj.to_metric(f.geometry).area
            share = inside / total if total else 0.0
            if share < MIN_SHARE_INSIDE_DISTRICT:
                f.errors.append(f"超出辖区边界 (仅 {share:.1%} 位于辖区 {district.code} 内)")
        if not f.code_ok:
            continue
        existing = known.get(f.code)
        if f.level in ("street", "community") and not f.name and existing is None:
            f.errors.append("缺少名称属性 (name)")
        if f.level == "community":
            parent_code = f.code[:9]
            parent = known.get(parent_code)
            if not (
                (parent and parent.level == RegionLevel.STREET)
                or (parent_code in in_file and in_file[parent_code].level == "street")
            ):
                f.errors.append(f"上级街道/镇 {parent_code} 不存在")
        elif f.level == "grid":
            parent_code = f.code[:12]
            parent = known.get(parent_code)
            if not (
                (parent and parent.level == RegionLevel.COMMUNITY)
                or (parent_code in in_file and in_file[parent_code].level == "community")
            ):
                f.errors.append(f"所属社区/村 {parent_code} 不存在")


def import_layer(
    source: Mapping[str, Any] | str | Path,
    level: LayerLevel | Literal["auto"],
    *,
    coord_system: CoordSystem | CoordSystemName = CoordSystem.WGS84,
) -> ImportResult:
    """Import a surveyed layer (GeoJSON FeatureCollection, dict or file path).

    `level` is "street", "community" or "grid", or "auto" to take each feature's level from
    the length of its code (a file may then carry communities and their grids together).
    Every feature is validated before anything is written; if any fails, `GeoImportError`
    lists all problems ("第3个要素 (编码 630102001001): 几何图形无效 (自相交)") and the database
    is untouched. Imported features are real (synthetic=False) and replace synthetic data:
    synthetic boundaries at the imported level and below are cleared, synthetic grids deleted,
    so surveyed and invented geometry never overlap (re-run `geo_demo` to fill gaps).
    """
    if level not in (*CODE_LENGTH, "auto"):
        raise GeoImportError([f"未知的图层级别 {level} (应为 street、community、grid 或 auto)"])
    system = CoordSystem(coord_system)
    code = district_code()
    district = Region.objects.filter(code=code, level=RegionLevel.DISTRICT).first()
    if district is None or not district.boundary:
        raise GeoImportError([f"辖区 {code} 尚未加载，请先执行 cityops geo load"])
    features = _parse_features(_read_source(source), level, system, code)
    _check_features(features, district, shape(district.boundary))
    errors = [f"{f.label()}: {'；'.join(f.errors)}" for f in features if f.errors]
    if errors:
        raise GeoImportError(errors)
    try:
        with transaction.atomic():
            result = _write_features(features, district)
    finally:
        # Also after a failed write: this process may have indexed rows that were rolled back.
        index_changed()
    return result


_LEVEL_ORDER = ("street", "community", "grid")


def _write_features(features: list[_Feature], district: Region) -> ImportResult:
    result = ImportResult()
    levels = [lvl for lvl in _LEVEL_ORDER if any(f.level == lvl for f in features)]
    result.levels = levels
    _clear_synthetic_below(levels[0], district, result)
    regions: dict[str, Region] = {district.code: district}
    for lvl in ("street", "community"):
        for f in (f for f in features if f.level == lvl):
            parent = regions.get(f.code[:6] if lvl == "street" else f.code[:9]) or Region.objects.get(
                code=f.code[:6] if lvl == "street" else f.code[:9]
            )
            assert f.geometry is not None
            defaults: dict[str, Any] = {
                "level": lvl,
                "parent": parent,
                "boundary": to_geojson(f.geometry),
                "area_m2": area_m2(f.geometry),
                "synthetic": False,
            }
            if f.name:
                defaults |= {"name": f.name, "short_name": short_name(f.name)}
            if f.kind or f.name:
                defaults["kind"] = f.kind or (
                    _community_kind(f.name) if lvl == "community" else street_kind(f.code, f.name)
                )
            region, created = Region.objects.update_or_create(code=f.code, defaults=defaults)
            regions[f.code] = region
            result.created += created
            result.updated += not created
    grid_features = [f for f in features if f.level == "grid"]
    if grid_features:
        _write_grids(grid_features, regions, result)
    return result


def _community_kind(name: str) -> str:
    if name.endswith(("村民委员会", "村")):
        return "村"
    if "虚拟" in name:
        return "虚拟社区"
    return "社区"


def _clear_synthetic_below(top_level: str, district: Region, result: ImportResult) -> None:
    """Remove synthetic geometry at `top_level` and below (see `import_layer`)."""
    synthetic_grids = UnitGrid.objects.filter(code__startswith=district.code, synthetic=True)
    try:
        result.synthetic_grids_deleted = synthetic_grids.delete()[1].get(UnitGrid._meta.label, 0)
    except (ProtectedError, RestrictedError) as exc:
        raise GeoImportError(
            ["合成网格已被业务数据引用，无法由实测网格替换；请先处理引用这些网格的数据"]
        ) from exc
    levels = {
        "street": [RegionLevel.STREET, RegionLevel.COMMUNITY],
        "community": [RegionLevel.COMMUNITY],
    }.get(top_level, [])
    if levels:
        result.synthetic_boundaries_cleared = Region.objects.filter(
            code__startswith=district.code, level__in=levels, synthetic=True
        ).update(boundary=None, area_m2=None, synthetic=False)


def _write_grids(features: list[_Feature], regions: dict[str, Region], result: ImportResult) -> None:
    community_codes = {f.code[:12] for f in features} - regions.keys()
    regions |= {r.code: r for r in Region.objects.filter(code__in=community_codes)}
    existing = {g.code: g for g in UnitGrid.objects.filter(code__in=[f.code for f in features])}
    to_create, to_update = [], []
    for f in features:
        assert f.geometry is not None
        community = regions[f.code[:12]]
        values = {
            "community": community,
            "street_id": community.parent_id,
            "boundary": to_geojson(f.geometry),
            "area_m2": round(area_m2(f.geometry), 1),
            "synthetic": False,
        }
        row = existing.get(f.code)
        if row is None:
            to_create.append(UnitGrid(code=f.code, name=f.name, **values))
        else:
            for key, value in values.items():
                setattr(row, key, value)
            if f.name:
                row.name = f.name
            row.updated_at = timezone.now()  # bulk_update bypasses auto_now
            to_update.append(row)
    UnitGrid.objects.bulk_create(to_create, batch_size=500)
    UnitGrid.objects.bulk_update(
        to_update,
        ["name", "community", "street", "boundary", "area_m2", "synthetic", "updated_at"],
        batch_size=200,
    )
    result.created += len(to_create)
    result.updated += len(to_update)


def grid_code_is_wellformed(code: str, district: str | None = None) -> bool:
    """14 digits, starting with the district code (used by other apps' forms)."""
    return bool(re.fullmatch(r"\d{14}", code)) and code.startswith(district or district_code())
