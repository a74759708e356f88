"""A clearly labelled SYNTHETIC partition of the district into streets, communities and unit grids.

The official boundaries of streets, communities and grids are survey results a
deployment imports (`services.import_layer`). Until then, demos and tests need a
plausible, complete, deterministic partition of the real district outline:

* streets/towns: the 街道 share the built-up west (a western slice of the district
  sized by their communities), towns and parks the rural east; 园区 take the
  easternmost slice;
* communities partition their street; both levels are power diagrams (weighted
  Voronoi) whose weights are fitted so that each piece gets an area in proportion to
  its weight (villages bigger than urban communities), seeded by k-means so pieces are
  compact;
* unit grids partition their community: a square lattice clipped to the community,
  slivers merged into a neighbour, cell size enlarged until the community holds at
  most 99 grids (the grid sequence has 2 digits).

All work happens in a local metric projection; the results are returned in WGS-84.
Everything is driven by a fixed seed combined with the region code, so every run (and
every single street or community generated on its own) yields identical geometry and codes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from cityops.geo.geometry import LocalProjection, polygonal_part, round_geometry

T = TypeVar("T", bound="RegionSpec")

DEFAULT_SEED = 20240630
MAX_GRIDS_PER_COMMUNITY = 99

# Share of the district area given to the built-up 街道 (the west of 城东区).
BUILT_UP_SHARE = 0.30
# Relative land area of one community/village of each kind (villages include fields).
KIND_WEIGHT = {"社区": 1.0, "村": 1.8, "虚拟社区": 4.0}
# Nominal unit-grid area (m²): ~万米网格 in town, larger in the countryside.
GRID_AREA_BUILT_UP = 20_000.0
GRID_AREA_TOWN_COMMUNITY = 40_000.0
GRID_AREA_RURAL = 90_000.0
# A clipped lattice cell smaller than this fraction of a full cell is merged into a neighbour.
SLIVER_FRACTION = 0.5


@dataclass(frozen=True)
class RegionSpec:
    """A street or community to place: code, name, kind (街道/镇/园区/社区/村/虚拟社区)."""

    code: str
    name: str
    kind: str


@dataclass(frozen=True)
class StreetSpec(RegionSpec):
    """A street/town with its communities/villages."""

    communities: tuple[RegionSpec, ...] = ()

    @property
    def built_up(self) -> bool:
        return self.kind == "街道"


@dataclass(frozen=True)
class SyntheticGrid:
    """One generated unit grid (WGS-84 geometry)."""

    code: str
    community_code: str
    geometry: BaseGeometry
    area_m2: float


@dataclass
class SyntheticPartition:
    """The full generated partition; geometries in WGS-84."""

    streets: dict[str, BaseGeometry] = field(default_factory=dict)
    communities: dict[str, BaseGeometry] = field(default_factory=dict)
    grids: list[SyntheticGrid] = field(default_factory=list)


def community_weight(kind: str) -> float:
    return KIND_WEIGHT.get(kind, 1.0)


def street_weight(street: StreetSpec) -> float:
    return sum(community_weight(c.kind) for c in street.communities) or 1.0


def nominal_grid_area(street_kind: str, community_kind: str) -> float:
    """Target unit-grid area before the 99-per-community cap is applied."""
    if street_kind == "街道":
        return GRID_AREA_BUILT_UP
    if community_kind == "社区":
        return GRID_AREA_TOWN_COMMUNITY
    return GRID_AREA_RURAL


def _rng(seed: int, code: str) -> np.random.Generator:
    # Seeding by region code makes each region's result independent of processing order.
    return np.random.default_rng([seed, int(code)])


# --- public API (WGS-84 in, WGS-84 out) -------------------------------------------------------


def partition_streets(
    district: BaseGeometry,
    streets: Sequence[StreetSpec],
    *,
    seed: int = DEFAULT_SEED,
    projection: LocalProjection | None = None,
) -> dict[str, BaseGeometry]:
    """Split the district outline among the streets; returns code → WGS-84 geometry."""
    proj = projection or LocalProjection.around(district)
    metric = proj.to_metric(district)
    built_up = [s for s in streets if s.built_up]
    parks = [s for s in streets if not s.built_up and s.kind == "园区"]
    towns = [s for s in streets if not s.built_up and s.kind != "园区"]
    result: dict[str, BaseGeometry] = {}

    rural_weight = sum(street_weight(s) for s in towns + parks)
    if built_up and (towns or parks):
        west, east = _split_by_x(metric, BUILT_UP_SHARE)
    else:
        west, east = (metric, shapely.Polygon()) if built_up else (shapely.Polygon(), metric)

    if built_up:
        # Streets numbered north → south, like a reading of the map.
        result |= _power_partition(
            west,
            built_up,
            street_weight,
            _rng(seed, built_up[0].code),
            order=lambda pts: np.argsort(-pts[:, 1], kind="stable"),
        )
    if parks:
        park_share = sum(street_weight(s) for s in parks) / rural_weight
        rest, park_zone = _split_by_x(east, 1.0 - park_share) if towns else (shapely.Polygon(), east)
        result |= _power_partition(
            park_zone,
            parks,
            street_weight,
            _rng(seed, parks[0].code),
            order=lambda pts: np.argsort(pts[:, 1], kind="stable"),
        )
        east = rest
    if towns:
        # Towns numbered south → north (乐家湾 lies south of 韵家口 in 城东区).
        result |= _power_partition(
            east,
            towns,
            street_weight,
            _rng(seed, towns[0].code),
            order=lambda pts: np.argsort(pts[:, 1], kind="stable"),
        )
    return {code: _finish(geom, proj) for code, geom in result.items()}


def partition_communities(
    street_geom: BaseGeometry,
    street: StreetSpec,
    *,
    seed: int = DEFAULT_SEED,
    projection: LocalProjection | None = None,
) -> dict[str, BaseGeometry]:
    """Split one street (synthetic or real boundary) among its communities."""
    if not street.communities:
        return {}
    proj = projection or LocalProjection.around(street_geom)
    metric = proj.to_metric(street_geom)
    # Urban communities first, villages after, laid out west → east: villages end up on
    # the outskirts, and the numbering runs west → east as grid numbering does.
    ordered = sorted(street.communities, key=lambda c: (c.kind == "村", c.code))
    pieces = _power_partition(
        metric,
        ordered,
        lambda c: community_weight(c.kind),
        _rng(seed, street.code),
        order=lambda pts: np.argsort(pts[:, 0], kind="stable"),
    )
    return {code: _finish(geom, proj) for code, geom in pieces.items()}


def partition_grids(
    community_geom: BaseGeometry,
    community: RegionSpec,
    street_kind: str,
    *,
    projection: LocalProjection | None = None,
    max_grids: int = MAX_GRIDS_PER_COMMUNITY,
) -> list[SyntheticGrid]:
    """Cut one community (synthetic or real boundary) into at most `max_grids` unit grids."""
    proj = projection or LocalProjection.around(community_geom)
    metric = proj.to_metric(community_geom)
    cells, side = _grid_cells(metric, nominal_grid_area(street_kind, community.kind), max_grids)
    # Numbered north → south in rows, west → east within a row (DB11 practice).
    centroids = shapely.get_coordinates(shapely.centroid(cells))
    order = sorted(range(len(cells)), key=lambda i: (-math.floor(centroids[i, 1] / side), centroids[i, 0]))
    grids = []
    for seq, i in enumerate(order, start=1):
        geom = _finish(cells[i], proj)
        grids.append(
            SyntheticGrid(
                code=f"{community.code}{seq:02d}",
                community_code=community.code,
                geometry=geom,
                area_m2=float(cells[i].area),
            )
        )
    return grids


def generate_partition(
    district: BaseGeometry,
    streets: Sequence[StreetSpec],
    *,
    seed: int = DEFAULT_SEED,
    only_streets: set[str] | None = None,
) -> SyntheticPartition:
    """Streets, communities and grids for the whole district (or only `only_streets`)."""
    proj = LocalProjection.around(district)
    out = SyntheticPartition()
    street_geoms = partition_streets(district, streets, seed=seed, projection=proj)
    for street in streets:
        if only_streets is not None and street.code not in only_streets:
            continue
        out.streets[street.code] = street_geoms[street.code]
        communities = partition_communities(street_geoms[street.code], street, seed=seed, projection=proj)
        out.communities |= communities
        for community in street.communities:
            out.grids += partition_grids(communities[community.code], community, street.kind, projection=proj)
    return out


# --- internals (metric coordinates) ---------------------------------------------------------


def _finish(metric_geom: BaseGeometry, proj: LocalProjection) -> BaseGeometry:
    return round_geometry(proj.to_lonlat(metric_geom))


def _split_by_x(poly: BaseGeometry, west_share: float) -> tuple[BaseGeometry, BaseGeometry]:
    """Cut at the meridian leaving `west_share` of the area to the west (bisection on x)."""
    minx, miny, maxx, maxy = poly.bounds
    total = poly.area
    lo, hi = minx, maxx
    for _ in range(50):
        mid = (lo + hi) / 2
        if shapely.clip_by_rect(poly, minx - 1, miny - 1, mid, maxy + 1).area < west_share * total:
            lo = mid
        else:
            hi = mid
    cut = shapely.box(minx - 1, miny - 1, (lo + hi) / 2, maxy + 1)
    west = polygonal_part(shapely.intersection(poly, cut))
    east = polygonal_part(shapely.difference(poly, cut))
    return west, east


def _sample_points(poly: BaseGeometry, n: int, rng: np.random.Generator) -> np.ndarray:
    minx, miny, maxx, maxy = poly.bounds
    shapely.prepare(poly)
    found: list[np.ndarray] = []
    count = 0
    while count < n:
        cand = rng.uniform((minx, miny), (maxx, maxy), size=(2 * n, 2))
        inside = cand[shapely.contains_xy(poly, cand[:, 0], cand[:, 1])]
        found.append(inside)
        count += len(inside)
    return np.concatenate(found)[:n]


def _sq_distances(pts: np.ndarray, centres: np.ndarray) -> np.ndarray:
    # |p - c|² expanded into a matrix product: no (n, k, 2) temporary.
    return (pts**2).sum(1)[:, None] - 2.0 * pts @ centres.T + (centres**2).sum(1)[None, :]


def _centroids(pts: np.ndarray, labels: np.ndarray, centres: np.ndarray) -> np.ndarray:
    counts = np.bincount(labels, minlength=len(centres))
    sums = np.column_stack([np.bincount(labels, weights=pts[:, d], minlength=len(centres)) for d in (0, 1)])
    # An empty cluster keeps its previous centre.
    return np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], centres)


def _kmeans(pts: np.ndarray, k: int, rng: np.random.Generator, iterations: int = 20) -> np.ndarray:
    # k-means++ initialisation, then plain Lloyd steps: compact, well spread seeds.
    centres = pts[[rng.integers(len(pts))]]
    for _ in range(1, k):
        d2 = _sq_distances(pts, centres).min(1).clip(min=0)
        centres = np.vstack([centres, pts[rng.choice(len(pts), p=d2 / d2.sum())]])
    centres = centres.astype(float)
    for _ in range(iterations):
        centres = _centroids(pts, _sq_distances(pts, centres).argmin(1), centres)
    return centres


def _power_partition(
    poly: BaseGeometry,
    specs: Sequence[T],
    weight: Callable[[T], float],
    rng: np.random.Generator,
    order: Callable[[np.ndarray], np.ndarray],
) -> dict[str, BaseGeometry]:
    """Split `poly` among `specs` with areas ∝ weight, as a power diagram clipped to `poly`.

    `order(seeds)` ranks the seed points; the i-th spec gets the i-th ranked seed, which is
    how geographic conventions (towns south → north, villages east…) are expressed.
    """
    if not specs:
        return {}
    if len(specs) == 1 or poly.is_empty:
        return {specs[0].code: poly} if len(specs) == 1 else {s.code: shapely.Polygon() for s in specs}
    k = len(specs)
    pts = _sample_points(poly, max(2000, 300 * k), rng)
    seeds = _kmeans(pts, k, rng)
    seeds = seeds[np.asarray(order(seeds))]
    targets = np.array([weight(s) for s in specs], dtype=float)
    targets /= targets.sum()
    seeds, weights = _fit_power_weights(pts, seeds, targets, poly.area)
    cells = _power_cells(poly, seeds, weights)
    cells = _absorb_fragments([polygonal_part(shapely.intersection(cell, poly)) for cell in cells])
    return {spec.code: cell for spec, cell in zip(specs, cells, strict=True)}


def _fit_power_weights(
    pts: np.ndarray,
    seeds: np.ndarray,
    targets: np.ndarray,
    area: float,
    iterations: int = 150,
    tolerance: float = 0.003,
) -> tuple[np.ndarray, np.ndarray]:
    """Capacity-constrained power diagram: nudge weights until each cell holds its share of
    sample points, while pulling seeds towards their cell centroids to keep cells compact."""
    seeds = seeds.copy()
    weights = np.zeros(len(seeds))
    n = len(pts)
    for step in range(iterations):
        labels = (_sq_distances(pts, seeds) - weights[None, :]).argmin(1)
        error = targets - np.bincount(labels, minlength=len(seeds)) / n
        if step >= 20 and np.abs(error).max() < tolerance:
            break
        # Raising a weight by Δ moves the cell's edges out by ~Δ/(2·distance); 0.6·Δshare·area
        # corresponds to about the missing area for round cells.
        weights += 0.6 * error * area
        weights -= weights.mean()
        seeds = 0.7 * seeds + 0.3 * _centroids(pts, labels, seeds)
    return seeds, weights


def _power_cells(poly: BaseGeometry, seeds: np.ndarray, weights: np.ndarray) -> list[BaseGeometry]:
    """Convex power cells of the seeds, each clipped from a box enclosing `poly`."""
    minx, miny, maxx, maxy = poly.bounds
    pad = max(maxx - minx, maxy - miny)
    frame = [
        (minx - pad, miny - pad),
        (maxx + pad, miny - pad),
        (maxx + pad, maxy + pad),
        (minx - pad, maxy + pad),
    ]
    cells = []
    sq = (seeds**2).sum(1)
    for i in range(len(seeds)):
        verts = frame
        for j in range(len(seeds)):
            if i == j:
                continue
            # Points closer (in power distance) to seed i: a·x <= b.
            a = 2.0 * (seeds[j] - seeds[i])
            b = sq[j] - sq[i] + weights[i] - weights[j]
            verts = _clip_halfplane(verts, a, b)
            if not verts:
                break
        cells.append(shapely.Polygon(verts) if len(verts) >= 3 else shapely.Polygon())
    return cells


def _clip_halfplane(verts: list[tuple[float, float]], a: np.ndarray, b: float) -> list[tuple[float, float]]:
    """Sutherland–Hodgman clip of a convex ring by the half-plane a·x <= b."""
    out: list[tuple[float, float]] = []
    n = len(verts)
    for k in range(n):
        p, q = verts[k], verts[(k + 1) % n]
        fp = a[0] * p[0] + a[1] * p[1] - b
        fq = a[0] * q[0] + a[1] * q[1] - b
        if fp <= 0:
            out.append(p)
        if (fp < 0 < fq) or (fq < 0 < fp):
            t = fp / (fp - fq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return out


def _shared_length(a: BaseGeometry, others: Sequence[BaseGeometry]) -> np.ndarray:
    return shapely.length(
        shapely.intersection(a.boundary, shapely.boundary(np.asarray(others, dtype=object)))
    )


def _absorb_fragments(pieces: list[BaseGeometry]) -> list[BaseGeometry]:
    """Keep each piece's largest part; hand every detached fragment to the piece it shares
    the longest border with, so that every region is one contiguous polygon."""
    main: list[BaseGeometry] = []
    fragments: list[BaseGeometry] = []
    for piece in pieces:
        parts = sorted(shapely.get_parts(piece), key=lambda g: -g.area)
        main.append(parts[0] if parts else shapely.Polygon())
        fragments += parts[1:]
    pending = sorted(fragments, key=lambda g: -g.area)
    while pending:
        progress, left = False, []
        for frag in pending:
            shared = _shared_length(frag, main)
            best = int(shared.argmax())
            if shared[best] > 0:
                main[best] = polygonal_part(shapely.union(main[best], frag))
                progress = True
            else:
                left.append(frag)
        if not progress:
            # Isolated fragments (touching nothing along a line): give them to the nearest piece.
            for frag in left:
                best = int(shapely.distance(frag, np.asarray(main, dtype=object)).argmin())
                main[best] = polygonal_part(shapely.union(main[best], frag))
            break
        pending = left
    return main


def _lattice_pieces(poly: BaseGeometry, side: float) -> list[BaseGeometry]:
    minx, miny, maxx, maxy = poly.bounds
    # Anchor the lattice on the projection origin so neighbouring communities' grids line up.
    xs = np.arange(math.floor(minx / side), math.ceil(maxx / side) + 1) * side
    ys = np.arange(math.floor(miny / side), math.ceil(maxy / side) + 1) * side
    gx, gy = np.meshgrid(xs[:-1], ys[:-1])
    x0, y0 = gx.ravel(), gy.ravel()
    boxes = shapely.box(x0, y0, x0 + side, y0 + side)
    shapely.prepare(poly)
    boxes = boxes[shapely.intersects(poly, boxes)]
    inside = shapely.contains_properly(poly, boxes)
    clipped = shapely.intersection(boxes[~inside], poly)
    pieces = list(boxes[inside])
    for geom in clipped:
        pieces += [p for p in shapely.get_parts(polygonal_part(geom)) if p.area > 0]
    return pieces


def _merge_slivers(pieces: list[BaseGeometry], min_area: float) -> list[BaseGeometry]:
    """Merge pieces below `min_area` into the neighbour with the longest shared border."""
    alive = list(pieces)
    while len(alive) > 1:
        areas = shapely.area(np.asarray(alive, dtype=object))
        i = int(areas.argmin())
        if areas[i] >= min_area:
            break
        small = alive.pop(i)
        bounds = shapely.bounds(np.asarray(alive, dtype=object))
        sb = small.bounds
        near = np.nonzero(
            (bounds[:, 0] <= sb[2])
            & (bounds[:, 2] >= sb[0])
            & (bounds[:, 1] <= sb[3])
            & (bounds[:, 3] >= sb[1])
        )[0]
        shared = _shared_length(small, [alive[j] for j in near]) if len(near) else np.zeros(0)
        if len(shared) and shared.max() > 0:
            j = int(near[int(shared.argmax())])
        else:
            j = int(shapely.distance(small, np.asarray(alive, dtype=object)).argmin())
        alive[j] = polygonal_part(shapely.union(alive[j], small))
    return alive


def _grid_cells(poly: BaseGeometry, nominal_area: float, max_cells: int) -> tuple[list[BaseGeometry], float]:
    # Start no smaller than what the cap allows, then grow until the count fits.
    side = max(math.sqrt(nominal_area), math.sqrt(poly.area / max_cells))
    while True:
        cells = _merge_slivers(_lattice_pieces(poly, side), SLIVER_FRACTION * side * side)
        if len(cells) <= max_cells:
            return cells, side
        side *= 1.05


def specs_from_reference(regions: Sequence[Mapping[str, object]]) -> list[StreetSpec]:
    """Build StreetSpecs from the shipped region list (see `reference.reference_regions`)."""
    communities: dict[str, list[RegionSpec]] = {}
    for r in regions:
        if r["level"] == "community":
            communities.setdefault(str(r["parent"]), []).append(
                RegionSpec(code=str(r["code"]), name=str(r["name"]), kind=str(r["kind"]))
            )
    return [
        StreetSpec(
            code=str(r["code"]),
            name=str(r["name"]),
            kind=str(r["kind"]),
            communities=tuple(sorted(communities.get(str(r["code"]), []), key=lambda c: c.code)),
        )
        for r in regions
        if r["level"] == "street"
    ]
