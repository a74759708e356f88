"""Point → unit grid / community / street lookup on an in-memory shapely STRtree.

The index is built once per process from the database and kept in `index_cache` (a
`common.refcache.ReferenceCache`). Any change to regions or grids bumps a version token
stored in the Django cache (`index_changed()`, called by model signals and by the bulk
services); every process compares its index's token with the cache at most every
`CITYOPS_GEO_INDEX_CHECK_SECONDS` (default 1 s) and rebuilds when they differ. Changes made
in the same process take effect on the next lookup, without waiting for that interval.

A point outside the district is an error (`OutsideDistrictError`), never a silent
nearest match: cases from a neighbouring district must be forwarded, not absorbed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.signals import setting_changed
from django.db.models import TextField
from django.db.models.functions import Cast
from django.dispatch import receiver

from cityops.common.refcache import ANY, KEEP, ReferenceCache
from cityops.geo.coords import CoordSystem, CoordSystemName, to_wgs84
from cityops.geo.models import Region, RegionLevel, UnitGrid

if TYPE_CHECKING:  # numpy and shapely load with the first index, not with every command's start
    import numpy as np
    import shapely
    from shapely import STRtree

VERSION_CACHE_KEY = "cityops:geo:index-version"
# Gaps between neighbouring grids are centimetres at most (coordinates are stored
# with 7 decimals); a point in such a gap still belongs to the nearest grid of its community.
GRID_GAP_TOLERANCE_DEG = 2e-6


class GeoLookupError(Exception):
    """Base class of lookup failures."""


class OutsideDistrictError(GeoLookupError):
    """The point lies outside the district this installation serves."""

    def __init__(self, message: str = "位置不在本辖区") -> None:
        super().__init__(message)


class NoGeoDataError(GeoLookupError):
    """No district boundary or region layer has been loaded yet."""

    def __init__(self, message: str = "尚未加载辖区边界数据，请先执行 cityops geo load") -> None:
        super().__init__(message)


@dataclass(frozen=True)
class Location:
    """Where a point lies: WGS-84 coordinates plus the grid/community/street that contain it."""

    lon: float
    lat: float
    grid_code: str | None
    community_code: str | None
    community_name: str | None
    street_code: str | None
    street_name: str | None
    coord_system: CoordSystem = CoordSystem.WGS84


@dataclass(frozen=True)
class _Layer:
    tree: STRtree
    geoms: np.ndarray  # prepared shapely geometries, sorted by code
    keys: list  # per geometry: region id (regions) or (code, community id, street id) (grids)


@dataclass(frozen=True)
class _RegionInfo:
    code: str
    name: str
    parent_id: int | None


def _as_text(field: str) -> Cast:
    return Cast(field, output_field=TextField())


class GeoIndex:
    """Immutable snapshot of the region and grid layers, ready for point queries."""

    def __init__(self, version: str, district_code: str) -> None:
        import shapely

        self.version = version
        self.regions: dict[int, _RegionInfo] = {}
        district = None
        streets: list[tuple[str, str, int]] = []
        communities: list[tuple[str, str, int]] = []
        # Boundaries are fetched as JSON text and parsed by GEOS in bulk: several times
        # faster than building shapes from decoded Python dicts.
        rows = Region.objects.filter(code__startswith=district_code).annotate(raw=_as_text("boundary"))
        for r in rows.values("id", "code", "name", "level", "parent_id", "raw"):
            self.regions[r["id"]] = _RegionInfo(r["code"], r["name"], r["parent_id"])
            if not r["raw"] or r["raw"] == "null":
                continue
            if r["level"] == RegionLevel.DISTRICT and r["code"] == district_code:
                district = shapely.from_geojson(r["raw"])
            elif r["level"] == RegionLevel.STREET:
                streets.append((r["code"], r["raw"], r["id"]))
            elif r["level"] == RegionLevel.COMMUNITY:
                communities.append((r["code"], r["raw"], r["id"]))
        grids = [
            (code, raw, (code, community_id, street_id))
            for code, raw, community_id, street_id in UnitGrid.objects.filter(code__startswith=district_code)
            .annotate(raw=_as_text("boundary"))
            .values_list("code", "raw", "community_id", "street_id")
        ]
        if district is not None:
            shapely.prepare(district)
        self.district = district
        self.streets = self._layer(streets)
        self.communities = self._layer(communities)
        self.grids = self._layer(grids)

    @staticmethod
    def _layer(rows: list[tuple[str, str, Any]]) -> _Layer | None:
        import numpy as np
        import shapely

        if not rows:
            return None
        rows.sort(key=lambda row: row[0])
        geoms = shapely.from_geojson(np.array([row[1] for row in rows], dtype=object))
        shapely.prepare(geoms)
        return _Layer(tree=shapely.STRtree(geoms), geoms=geoms, keys=[row[2] for row in rows])

    @property
    def empty(self) -> bool:
        return self.district is None and not (self.streets or self.communities or self.grids)

    @staticmethod
    def _hit(layer: _Layer | None, point: shapely.Point) -> int | None:
        if layer is None:
            return None
        # "intersects" rather than "within": a point on a shared edge still finds a polygon.
        # Indices follow code order, so such a point goes to the lowest code.
        hits = layer.tree.query(point, predicate="intersects")
        return int(hits.min()) if len(hits) else None

    def locate(self, lon: float, lat: float) -> tuple[str | None, _RegionInfo | None, _RegionInfo | None]:
        """(grid code, community, street) for a WGS-84 point; raises when outside the district."""
        import shapely

        if self.empty:
            raise NoGeoDataError()
        point = shapely.Point(lon, lat)
        if self.district is not None and not shapely.intersects_xy(self.district, lon, lat):
            raise OutsideDistrictError()
        i = self._hit(self.grids, point)
        if i is not None and self.grids is not None:
            _code, community_id, street_id = self.grids.keys[i]
            return _code, self.regions.get(community_id), self.regions.get(street_id)
        community = street = None
        i = self._hit(self.communities, point)
        if i is not None and self.communities is not None:
            community = self.regions[self.communities.keys[i]]
            street = self.regions.get(community.parent_id) if community.parent_id else None
        else:
            i = self._hit(self.streets, point)
            if i is not None and self.streets is not None:
                street = self.regions[self.streets.keys[i]]
        if community is None and street is None and self.district is None:
            # Without a district outline the layers themselves define the district.
            raise OutsideDistrictError()
        grid_code = self._grid_in_gap(point, community) if community is not None else None
        return grid_code, community, street

    def _grid_in_gap(self, point: shapely.Point, community: _RegionInfo) -> str | None:
        import shapely

        grids = self.grids
        if grids is None:
            return None
        near = grids.tree.query(point, predicate="dwithin", distance=GRID_GAP_TOLERANCE_DEG)
        candidates = [
            int(i)
            for i in near
            if (info := self.regions.get(grids.keys[i][1])) is not None and info.code == community.code
        ]
        if not candidates:
            return None
        best = min(candidates, key=lambda i: (shapely.distance(grids.geoms[i], point), i))
        return grids.keys[best][0]


# --- process-wide cache ----------------------------------------------------------------------


_check_interval: float | None = None


def _check_seconds() -> float:
    # Read on every lookup: the setting is read once (and again when a test overrides it),
    # because even a cached settings attribute costs more than the rest of the fast path.
    global _check_interval
    if _check_interval is None:
        _check_interval = float(settings.CITYOPS_GEO_INDEX_CHECK_SECONDS)
    return _check_interval


@receiver(setting_changed, dispatch_uid="geo_index_check_seconds_changed")
def _check_seconds_changed(setting: str, **kwargs: object) -> None:
    global _check_interval
    if setting == "CITYOPS_GEO_INDEX_CHECK_SECONDS":
        _check_interval = None


def _build_index() -> GeoIndex:
    return GeoIndex(str(index_cache.version or "unversioned"), settings.CITYOPS_DISTRICT_CODE)


# Built from whatever this process reads, inside a transaction or not (ANY): fixtures and the
# loaders see their own rows at once. Caches of rows derived from the geo data follow it
# (`ReferenceCache(..., follows=index_cache)`) and are cleared with it.
index_cache = ReferenceCache(
    "geo.index",
    _build_index,
    version_key=VERSION_CACHE_KEY,
    recheck_seconds=_check_seconds,
    transactions=ANY,
    outage=KEEP,  # rebuilding on every call while the cache is down would cost seconds each
    serialize_loads=True,
)


def index_changed() -> None:
    """Mark the lookup index stale, here and (through the cache) in every other process.

    Bumps now, so this process sees its own writes, and again after commit, so another
    process that rebuilt from not-yet-committed data in between rebuilds once more.
    """
    index_cache.invalidate()


def get_index() -> GeoIndex:
    """The current index, rebuilt when its version token is stale."""
    return index_cache.value()


def locate(
    lon: float, lat: float, coord_system: CoordSystem | CoordSystemName = CoordSystem.WGS84
) -> Location:
    """Locate a point: unit grid, community and street containing it.

    Raises `OutsideDistrictError` ("位置不在本辖区") when the point is outside the district,
    `NoGeoDataError` when nothing has been loaded. `grid_code` (and `community_*`) are None
    when those layers do not cover the point (e.g. only streets have boundaries yet).
    """
    system = CoordSystem(coord_system)
    wlon, wlat = to_wgs84(lon, lat, system)
    grid_code, community, street = get_index().locate(wlon, wlat)
    return Location(
        lon=wlon,
        lat=wlat,
        grid_code=grid_code,
        community_code=community.code if community else None,
        community_name=community.name if community else None,
        street_code=street.code if street else None,
        street_name=street.name if street else None,
        coord_system=system,
    )


def in_district(
    lon: float, lat: float, coord_system: CoordSystem | CoordSystemName = CoordSystem.WGS84
) -> bool:
    """True when `locate` would succeed for this point."""
    try:
        locate(lon, lat, coord_system)
    except OutsideDistrictError:
        return False
    return True


def reset_index() -> None:
    """Forget the in-memory index and the caches that follow it (tests: a rolled-back
    transaction sends no signal)."""
    index_cache.clear()
