"""GCJ-02 ↔ WGS-84 conversion.

Chinese map providers (AMap/高德, Tencent, most phone SDKs) publish coordinates in
GCJ-02, a deliberately obfuscated datum that lies a few hundred metres from WGS-84.
Everything CityOps stores is WGS-84, so coordinates coming from such sources must be
converted on the way in.

The forward transform (WGS-84 → GCJ-02) is the well-known public formula. It has no
closed-form inverse, so GCJ-02 → WGS-84 inverts it numerically by fixed-point
iteration; that converges to well below a millimetre within a few steps because the
offset varies slowly (its derivative is of the order of 1e-5).

Scalar functions use `math` (a single lookup must stay in the microsecond range);
the `*_array` variants use numpy for whole geometries.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # numpy loads with the first geometry converted, not with every command's start
    import numpy as np

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 formula.
_A = 6378245.0
_EE = 0.00669342162296594323

# The formula only shifts points inside a rough bounding box of China; outside it
# coordinates are returned unchanged (that is what the providers do too).
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)

# Iterative inversion stops once the forward image is within ~1 mm of the target.
_INVERSE_TOLERANCE_DEG = 1e-9
_INVERSE_MAX_STEPS = 30


class CoordSystem(StrEnum):
    """Coordinate reference systems accepted at the edges of the system."""

    WGS84 = "wgs84"
    GCJ02 = "gcj02"


CoordSystemName = Literal["wgs84", "gcj02"]


def out_of_china(lon: float, lat: float) -> bool:
    """True when the GCJ-02 offset does not apply to this point."""
    return not (_CHINA_LON[0] <= lon <= _CHINA_LON[1] and _CHINA_LAT[0] <= lat <= _CHINA_LAT[1])


def _delta_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _delta_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def _gcj_offset(lon: float, lat: float) -> tuple[float, float]:
    dlat = _delta_lat(lon - 105.0, lat - 35.0)
    dlon = _delta_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """Forward transform (public formula). Points outside China pass through unchanged."""
    if out_of_china(lon, lat):
        return lon, lat
    dlon, dlat = _gcj_offset(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """Inverse transform by fixed-point iteration: find w with wgs84_to_gcj02(w) == (lon, lat)."""
    if out_of_china(lon, lat):
        return lon, lat
    w_lon, w_lat = lon, lat
    for _ in range(_INVERSE_MAX_STEPS):
        g_lon, g_lat = wgs84_to_gcj02(w_lon, w_lat)
        err_lon, err_lat = g_lon - lon, g_lat - lat
        w_lon -= err_lon
        w_lat -= err_lat
        if abs(err_lon) < _INVERSE_TOLERANCE_DEG and abs(err_lat) < _INVERSE_TOLERANCE_DEG:
            break
    return w_lon, w_lat


def to_wgs84(
    lon: float, lat: float, system: CoordSystem | CoordSystemName = CoordSystem.WGS84
) -> tuple[float, float]:
    """Convert a point given in `system` to WGS-84."""
    if CoordSystem(system) is CoordSystem.GCJ02:
        return gcj02_to_wgs84(lon, lat)
    return float(lon), float(lat)


# --- vectorised variants, for whole geometries -------------------------------------------


def _in_china_mask(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return (lon >= _CHINA_LON[0]) & (lon <= _CHINA_LON[1]) & (lat >= _CHINA_LAT[0]) & (lat <= _CHINA_LAT[1])


def _gcj_offset_array(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    x, y = lon - 105.0, lat - 35.0
    pi = np.pi
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat += (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlon += (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * pi)
    return dlon, dlat


def wgs84_to_gcj02_array(coords: np.ndarray) -> np.ndarray:
    """Forward transform of an (N, 2) array of lon/lat; rows outside China are unchanged."""
    import numpy as np

    coords = np.asarray(coords, dtype=float)
    out = coords.copy()
    if out.size == 0:
        return out
    mask = _in_china_mask(coords[:, 0], coords[:, 1])
    dlon, dlat = _gcj_offset_array(coords[mask, 0], coords[mask, 1])
    out[mask, 0] += dlon
    out[mask, 1] += dlat
    return out


def gcj02_to_wgs84_array(coords: np.ndarray) -> np.ndarray:
    """Iterative inverse of `wgs84_to_gcj02_array` for an (N, 2) array."""
    import numpy as np

    target = np.asarray(coords, dtype=float)
    out = target.copy()
    if out.size == 0:
        return out
    mask = _in_china_mask(target[:, 0], target[:, 1])
    goal = target[mask]
    w = goal.copy()
    for _ in range(_INVERSE_MAX_STEPS):
        dlon, dlat = _gcj_offset_array(w[:, 0], w[:, 1])
        err = np.column_stack([w[:, 0] + dlon, w[:, 1] + dlat]) - goal
        w -= err
        if err.size == 0 or np.abs(err).max() < _INVERSE_TOLERANCE_DEG:
            break
    out[mask] = w
    return out


def array_to_wgs84(coords: np.ndarray, system: CoordSystem | CoordSystemName) -> np.ndarray:
    """Convert an (N, 2) lon/lat array from `system` to WGS-84."""
    import numpy as np

    if CoordSystem(system) is CoordSystem.GCJ02:
        return gcj02_to_wgs84_array(coords)
    return np.asarray(coords, dtype=float)


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (good enough to express conversion errors)."""
    r = 6371008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(h))
