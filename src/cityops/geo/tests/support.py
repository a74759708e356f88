"""Helpers of the geo tests (the fixtures are in conftest.py): random points inside a shape,
a tolerant comparison of two regions, GeoJSON features and collections."""

from __future__ import annotations

import numpy as np
import shapely


def points_in(geom, n: int, seed: int = 7) -> np.ndarray:
    """`n` reproducible random points inside `geom`."""
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = geom.bounds
    shapely.prepare(geom)
    found = np.empty((0, 2))
    while len(found) < n:
        cand = rng.uniform((minx, miny), (maxx, maxy), size=(4 * n, 2))
        found = np.vstack([found, cand[shapely.contains_xy(geom, cand[:, 0], cand[:, 1])]])
    return found[:n]



def same_region(a, b, width_m: float = 0.02) -> bool:
    """a and b cover the same ground up to slivers averaging `width_m` along b's outline
    (coordinates are stored with 7 decimals, ~1 cm)."""
    from cityops.geo.geometry import LocalProjection

    proj = LocalProjection.around(b)
    diff = proj.to_metric(shapely.symmetric_difference(a, b)).area
    return diff <= width_m * proj.to_metric(b).length



def feature(code: str, geom, name: str = "", **props) -> dict:
    from shapely.geometry import mapping

    return {
        "type": "Feature",
        "properties": {"code": code, "name": name, **props},
        "geometry": mapping(geom) if not isinstance(geom, dict) else geom,
    }



def collection(*features: dict) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}
