"""Small geometry helpers shared by the generator, the importer and the lookup.

A district spans ~15 km, so a local equirectangular projection around its centre
is accurate to a few parts per million for areas and distances; that spares us pyproj.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from cityops.geo.coords import CoordSystem, CoordSystemName, array_to_wgs84

# Mean Earth radius (IUGG); the error of the spherical model is far below the
# precision any area figure is shown with.
EARTH_RADIUS_M = 6371008.8
# 1e-7 degree ≈ 1 cm: enough for unit grids and keeps stored GeoJSON compact.
STORED_DECIMALS = 7


@dataclass(frozen=True)
class LocalProjection:
    """Equirectangular projection around (lon0, lat0): lon/lat degrees ↔ metres."""

    lon0: float
    lat0: float

    @property
    def kx(self) -> float:
        return math.radians(1.0) * EARTH_RADIUS_M * math.cos(math.radians(self.lat0))

    @property
    def ky(self) -> float:
        return math.radians(1.0) * EARTH_RADIUS_M

    @classmethod
    def around(cls, geom: BaseGeometry) -> LocalProjection:
        c = geom.centroid
        return cls(lon0=c.x, lat0=c.y)

    def to_metric(self, geom: BaseGeometry) -> BaseGeometry:
        kx, ky, lon0, lat0 = self.kx, self.ky, self.lon0, self.lat0
        return shapely.transform(
            geom, lambda c: np.column_stack([(c[:, 0] - lon0) * kx, (c[:, 1] - lat0) * ky])
        )

    def to_lonlat(self, geom: BaseGeometry) -> BaseGeometry:
        kx, ky, lon0, lat0 = self.kx, self.ky, self.lon0, self.lat0
        return shapely.transform(geom, lambda c: np.column_stack([c[:, 0] / kx + lon0, c[:, 1] / ky + lat0]))

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return (lon - self.lon0) * self.kx, (lat - self.lat0) * self.ky


def area_m2(geom: BaseGeometry) -> float:
    """Area in square metres of a WGS-84 geometry."""
    if geom.is_empty:
        return 0.0
    return float(LocalProjection.around(geom).to_metric(geom).area)


def round_geometry(geom: BaseGeometry, decimals: int = STORED_DECIMALS) -> BaseGeometry:
    """Round coordinates; repairs the rare ring that rounding makes invalid."""
    rounded = shapely.transform(geom, lambda c: np.round(c, decimals))
    if not rounded.is_valid:
        rounded = shapely.make_valid(rounded)
        rounded = polygonal_part(rounded)
    return rounded


def polygonal_part(geom: BaseGeometry) -> BaseGeometry:
    """Keep only the (multi)polygon part of a geometry (overlays can emit stray lines/points)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return shapely.Polygon()
    return shapely.union_all(parts)


def to_geojson(geom: BaseGeometry, decimals: int = STORED_DECIMALS) -> dict[str, Any]:
    """Shapely geometry → GeoJSON geometry dict with rounded coordinates."""
    # GEOS writes the shortest decimal that round-trips, so rounded values stay short.
    rounded = shapely.transform(geom, lambda c: np.round(c, decimals))
    return json.loads(shapely.to_geojson(rounded))


def from_geojson(geometry: dict[str, Any]) -> BaseGeometry:
    """GeoJSON geometry dict → shapely geometry (raises on malformed input)."""
    return shape(geometry)


def geometry_to_wgs84(geom: BaseGeometry, system: CoordSystem | CoordSystemName) -> BaseGeometry:
    """Convert a lon/lat geometry from `system` to WGS-84."""
    if CoordSystem(system) is CoordSystem.WGS84:
        return geom
    return shapely.transform(geom, lambda c: array_to_wgs84(c, system))
