"""Names behind the ids that the rollups store: streets, communities, grids and categories.

Small tables (10 streets, 60 communities, a few thousand grids, a few hundred categories),
loaded once per process (a `common.refcache.ReferenceCache` that follows the geo index) and
reloaded when the geo data version changes or after a minute.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from cityops.common.refcache import ANY, KEEP, ReferenceCache
from cityops.geo.lookup import index_cache

RELOAD_SECONDS = 60


@dataclass(frozen=True)
class Area:
    id: int
    code: str
    name: str
    level: str  # street | community | grid
    street_id: int = 0
    community_id: int = 0
    area_km2: float | None = None


@dataclass(frozen=True)
class Cat:
    id: int
    code: str
    name: str
    top_code: str  # 大类 code (level 1)
    top_name: str
    path: tuple[str, ...]  # codes from the leaf up to the root


@dataclass
class Refs:
    streets: dict[int, Area] = field(default_factory=dict)
    communities: dict[int, Area] = field(default_factory=dict)
    grids: dict[int, Area] = field(default_factory=dict)
    categories: dict[int, Cat] = field(default_factory=dict)
    street_by_code: dict[str, Area] = field(default_factory=dict)
    parent_codes: frozenset[str] = frozenset()  # categories that have children (the case list filters on these)
    loaded_at: float = 0.0
    version: str = ""

    def level(self, level: str) -> dict[int, Area]:
        return {"street": self.streets, "community": self.communities, "grid": self.grids}[level]


def _load() -> Refs:
    from cityops.catalog.models import Category
    from cityops.geo.models import Region, RegionLevel, UnitGrid

    refs = Refs(loaded_at=time.monotonic(), version=str(_refs_cache.version or ""))
    for r in Region.objects.filter(level__in=[RegionLevel.STREET, RegionLevel.COMMUNITY]).values(
        "id", "code", "name", "short_name", "level", "parent_id", "area_m2"
    ):
        area = r["area_m2"] / 1e6 if r["area_m2"] else None
        name = r["short_name"] or r["name"]
        if r["level"] == RegionLevel.STREET:
            refs.streets[r["id"]] = Area(r["id"], r["code"], name, "street", r["id"], 0, area)
        else:
            refs.communities[r["id"]] = Area(r["id"], r["code"], name, "community", r["parent_id"] or 0, r["id"], area)
    for g in UnitGrid.objects.values("id", "code", "name", "street_id", "community_id", "area_m2"):
        area = g["area_m2"] / 1e6 if g["area_m2"] else None
        refs.grids[g["id"]] = Area(g["id"], g["code"], g["name"] or g["code"], "grid", g["street_id"], g["community_id"], area)
    refs.street_by_code = {a.code: a for a in refs.streets.values()}
    rows = {c["id"]: c for c in Category.objects.values("id", "code", "name", "parent_id")}
    for cid, row in rows.items():
        path = [row]
        while path[-1]["parent_id"] and path[-1]["parent_id"] in rows and len(path) < 6:
            path.append(rows[path[-1]["parent_id"]])
        top = path[-1]
        refs.categories[cid] = Cat(cid, row["code"], row["name"], top["code"], top["name"], tuple(p["code"] for p in path))
    refs.parent_codes = frozenset(rows[r["parent_id"]]["code"] for r in rows.values() if r["parent_id"] in rows)
    return refs


CHECK_SECONDS = 1.0

# Follows the geo index (its version key, cleared with it); categories publish no version, hence
# the reload after RELOAD_SECONDS. Reads inside transactions are kept (ANY), as they always were.
_refs_cache = ReferenceCache(
    "analytics.refs", _load, follows=index_cache, recheck_seconds=CHECK_SECONDS,
    max_age=RELOAD_SECONDS, transactions=ANY, outage=KEEP, serialize_loads=True,
)


def refs() -> Refs:
    """The current reference names (the geo version is checked at most once a second)."""
    return _refs_cache.value()


def reset() -> None:
    """Forget the loaded names (tests create regions and categories inside rolled-back transactions)."""
    _refs_cache.clear()
