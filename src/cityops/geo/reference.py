"""Reference data shipped with the product (src/cityops/geo/data/) and the builder that made it.

The product reads only its own data directory at run time. The builder functions turn
the raw sources (a GCJ-02 district outline and the statistical division code lists)
into those versioned files once; `manage.py geo_build_reference --source DIR` re-runs them.
"""

from __future__ import annotations

import csv
import json
from functools import cache
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from cityops.geo.coords import CoordSystem
from cityops.geo.geometry import geometry_to_wgs84, round_geometry, to_geojson

DATA_DIR = Path(__file__).resolve().parent / "data"
FORMAT_VERSION = 1
# The district outline is a published fact with 6 decimals (~0.1 m); keep that precision.
DISTRICT_DECIMALS = 6


def district_file(district_code: str) -> Path:
    return DATA_DIR / f"district_{district_code}.geojson"


def regions_file(district_code: str) -> Path:
    return DATA_DIR / f"regions_{district_code}.json"


# --- reading (run time) ---------------------------------------------------------------------


@cache
def district_feature(district_code: str) -> dict[str, Any] | None:
    """The shipped district outline as a GeoJSON Feature (WGS-84), or None if not shipped."""
    path = district_file(district_code)
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return data["features"][0]


def district_boundary(district_code: str) -> BaseGeometry | None:
    """The shipped district outline as a shapely geometry (WGS-84)."""
    feature = district_feature(district_code)
    return shape(feature["geometry"]) if feature else None


@cache
def reference_regions(district_code: str) -> dict[str, Any] | None:
    """The shipped region list (district, streets/towns, communities/villages)."""
    path = regions_file(district_code)
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


# --- building (once, from raw sources) ----------------------------------------------------


def build_district_feature(source: Path, district_code: str) -> dict[str, Any]:
    """Read a GCJ-02 district outline (DataV-style FeatureCollection) and return it in WGS-84."""
    data = json.loads(Path(source).read_text(encoding="utf-8"))
    features = data["features"] if data.get("type") == "FeatureCollection" else [data]
    feature = next(
        (f for f in features if str(f.get("properties", {}).get("adcode", "")) == district_code), features[0]
    )
    geom = geometry_to_wgs84(shape(feature["geometry"]), CoordSystem.GCJ02)
    geom = round_geometry(geom, DISTRICT_DECIMALS)
    if not geom.is_valid:  # pragma: no cover - guarded by make_valid in round_geometry
        raise ValueError(f"district outline invalid after conversion: {shapely.is_valid_reason(geom)}")
    return {
        "type": "Feature",
        "properties": {
            "code": district_code,
            "name": feature.get("properties", {}).get("name", ""),
            "level": "district",
            "crs": "WGS-84 (EPSG:4326)",
            "source": f"{Path(source).name} (GCJ-02), converted to WGS-84 by cityops.geo.coords",
        },
        "geometry": to_geojson(geom, DISTRICT_DECIMALS),
    }


def short_name(name: str) -> str:
    """北关社区居民委员会 → 北关社区, 林家崖村村民委员会 → 林家崖村, 韵家口村民委员会 → 韵家口村."""
    if name.endswith("居民委员会"):
        return name.removesuffix("居民委员会")
    if name.endswith("村民委员会"):
        stem = name.removesuffix("村民委员会")
        return stem if stem.endswith("村") else stem + "村"
    return name


def street_kind(code: str, name: str) -> str:
    """Kind of a township-level unit from its name, falling back on the code range."""
    if name.endswith("街道"):
        return "街道"
    if name.endswith("镇"):
        return "镇"
    if name.endswith("乡"):
        return "乡"
    seq = int(code[6:9])
    # 统计用区划代码: 001–099 街道, 100–199 镇, 200–399 乡, 400–599 政企合一 (parks, farms…).
    if seq < 100:
        return "街道"
    if seq < 200:
        return "镇"
    if seq < 400:
        return "乡"
    return "园区"


def build_regions(
    district_code: str, district_name: str, streets_csv: Path, communities_csv: Path
) -> dict[str, Any]:
    """Combine the division code lists into the shipped region list."""
    regions: list[dict[str, Any]] = [
        {
            "code": district_code,
            "name": district_name,
            "short_name": district_name,
            "level": "district",
            "kind": "区",
            "parent": None,
        },
    ]
    with Path(streets_csv).open(encoding="utf-8") as fh:
        streets = [row for row in csv.DictReader(fh) if row["district_adcode"] == district_code]
    street_codes = set()
    for row in sorted(streets, key=lambda r: r["town_code"]):
        code, name = row["town_code"], row["town_name"]
        street_codes.add(code)
        regions.append(
            {
                "code": code,
                "name": name,
                "short_name": name,
                "level": "street",
                "kind": street_kind(code, name),
                "parent": district_code,
            }
        )
    with Path(communities_csv).open(encoding="utf-8") as fh:
        communities = [row for row in csv.DictReader(fh) if row["town_code"] in street_codes]
    for row in sorted(communities, key=lambda r: (r["town_code"], r["seq_in_town"])):
        code = row["town_code"] + row["seq_in_town"].zfill(3)
        regions.append(
            {
                "code": code,
                "name": row["name"],
                "short_name": short_name(row["name"]),
                "level": "community",
                "kind": row["type"],
                "parent": row["town_code"],
            }
        )
    return {
        "format": FORMAT_VERSION,
        "district_code": district_code,
        "source": f"{Path(streets_csv).name}, {Path(communities_csv).name} (统计用区划代码)",
        "regions": regions,
    }


def dump_regions(data: dict[str, Any]) -> str:
    """JSON with one region per line, so that a change to one region is a one-line diff."""
    head = {k: v for k, v in data.items() if k != "regions"}
    lines = [json.dumps(r, ensure_ascii=False) for r in data["regions"]]
    body = ",\n  ".join(lines)
    return json.dumps(head, ensure_ascii=False)[:-1] + ',\n "regions": [\n  ' + body + "\n ]\n}\n"


def write_reference_files(source_dir: Path, district_code: str, out_dir: Path = DATA_DIR) -> list[Path]:
    """Build both shipped files from the raw sources in `source_dir`; returns the written paths."""
    source_dir = Path(source_dir)
    outline = next(source_dir.glob(f"{district_code}_*.geojson"))
    feature = build_district_feature(outline, district_code)
    regions = build_regions(
        district_code,
        feature["properties"]["name"],
        source_dir / "chengdong_streets.csv",
        source_dir / "chengdong_communities.csv",
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    district_path = out_dir / district_file(district_code).name
    regions_path = out_dir / regions_file(district_code).name
    district_path.write_text(
        json.dumps({"type": "FeatureCollection", "features": [feature]}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    regions_path.write_text(dump_regions(regions), encoding="utf-8")
    district_feature.cache_clear()
    reference_regions.cache_clear()
    return [district_path, regions_path]
