"""Duplicate candidates (重复件): open cases near in space and time with similar text, ranked.

Search reads `DuplicateIndexEntry`: one row per open, located, unmerged case, keyed by a
coarse cell (≈ 330 m × 270 m here). A query looks at the few cells around the point through
the (cell, created_at) index, keeps the rows inside the radius, and only then compares text,
so its cost depends on how many cases are *near*, not on how many are open.

The index is kept by the `case_events_committed` receiver on every create and transition
(`index_case`); `cityops routing reindex` rebuilds it (e.g. after a bulk import that went
around the case services).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from cityops.cases.models import Case
from cityops.cases.states import OPEN_STATUSES
from cityops.common.db import asynchronous_commit
from cityops.routing.models import DuplicateIndexEntry
from cityops.routing.text import char_text, normalize

CELL_DEG = 0.003
_LON_SPAN = int(360 / CELL_DEG) + 2
SUMMARY_CHARS = 400
METERS_PER_DEG_LAT = 111_320


def cell_of(lon: float, lat: float) -> int:
    return math.floor((lat + 90) / CELL_DEG) * _LON_SPAN + math.floor((lon + 180) / CELL_DEG)


def cells_around(lon: float, lat: float, radius_m: float) -> tuple[list[int], tuple[float, float, float, float]]:
    dlat = radius_m / METERS_PER_DEG_LAT
    dlon = radius_m / (METERS_PER_DEG_LAT * max(0.1, math.cos(math.radians(lat))))
    lat0, lat1 = math.floor((lat - dlat + 90) / CELL_DEG), math.floor((lat + dlat + 90) / CELL_DEG)
    lon0, lon1 = math.floor((lon - dlon + 180) / CELL_DEG), math.floor((lon + dlon + 180) / CELL_DEG)
    cells = [i * _LON_SPAN + j for i in range(lat0, lat1 + 1) for j in range(lon0, lon1 + 1)]
    return cells, (lon - dlon, lon + dlon, lat - dlat, lat + dlat)


def summary(title: str, description: str) -> str:
    return normalize(f"{title} {description}", limit=SUMMARY_CHARS)


def indexable(case: Case) -> bool:
    return case.status in OPEN_STATUSES and case.lat is not None and case.lon is not None and case.master_id is None


def index_case(case: Case) -> None:
    """Add, refresh or drop the case's index row to match its current state."""
    index_cases([case])


def index_cases(cases: list[Case]) -> None:
    """`index_case` for many cases at once: one upsert and one delete."""
    latest = {case.pk: case for case in cases}
    entries = [
        DuplicateIndexEntry(case_id=case.pk, cell=cell_of(case.lon, case.lat), lat=case.lat, lon=case.lon,
                            created_at=case.created_at, text=summary(case.title, case.description))
        for case in latest.values()
        if indexable(case)
    ]
    gone = [pk for pk, case in latest.items() if not indexable(case)]
    # Derived data (`cityops routing reindex` rebuilds it): no disk flush awaited.
    with asynchronous_commit():
        if entries:
            DuplicateIndexEntry.objects.bulk_create(
                entries, update_conflicts=True, unique_fields=["case"], update_fields=["cell", "lat", "lon", "created_at", "text"]
            )
        if gone:
            DuplicateIndexEntry.objects.filter(case_id__in=gone).delete()


def reindex(batch: int = 2000) -> int:
    """Rebuild the whole index from the case table; returns the number of indexed cases."""
    DuplicateIndexEntry.objects.all().delete()
    qs = (
        Case.objects.filter(status__in=OPEN_STATUSES, lat__isnull=False, lon__isnull=False, master__isnull=True)
        .values_list("pk", "lon", "lat", "created_at", "title", "description")
        .order_by("pk")
    )
    rows: list[DuplicateIndexEntry] = []
    count = 0
    for pk, lon, lat, created_at, title, description in qs.iterator(chunk_size=batch):
        rows.append(DuplicateIndexEntry(case_id=pk, cell=cell_of(lon, lat), lat=lat, lon=lon, created_at=created_at,
                                        text=summary(title, description)))
        if len(rows) >= batch:
            DuplicateIndexEntry.objects.bulk_create(rows)
            count += len(rows)
            rows = []
    DuplicateIndexEntry.objects.bulk_create(rows)
    return count + len(rows)


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of character bigrams (letters and digits only)."""
    x, y = _bigrams(char_text(a)), _bigrams(char_text(b))
    return len(x & y) / len(x | y) if x and y else 0.0


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    rlat1, rlat2 = math.radians(lat1), math.radians(lat2)
    dphi = rlat2 - rlat1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(rlat1) * math.cos(rlat2) * math.sin(dlmb / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(min(1.0, a)))


def candidates(
    *, lon: float | None, lat: float | None, text: str, exclude_pk: int | None = None, radius_m: float = 300,
    days: int = 7, limit: int = 5, now: datetime | None = None, user=None, min_similarity: float = 0.15,
    near_m: float = 50,
) -> list[dict[str, Any]]:
    """Open cases within `radius_m` and `days` whose text is similar, best first.

    Score = 0.6 × text similarity + 0.4 × closeness; a candidate needs similarity ≥
    `min_similarity` or to lie within `near_m` metres. Only cases `user` may see (if given).
    Returns dicts {case, distance_m, similarity, score}."""
    if lon is None or lat is None:
        return []
    now = now or timezone.now()
    cells, (lon0, lon1, lat0, lat1) = cells_around(lon, lat, radius_m)
    rows = DuplicateIndexEntry.objects.filter(
        cell__in=cells, created_at__gte=now - timedelta(days=days), lat__range=(lat0, lat1), lon__range=(lon0, lon1),
    )
    if exclude_pk:
        rows = rows.exclude(case_id=exclude_pk)
    mine = _bigrams(char_text(summary("", text)))
    ranked = []
    for case_id, other_lon, other_lat, other_text in rows.values_list("case_id", "lon", "lat", "text").iterator(chunk_size=2000):
        distance = distance_m(lon, lat, other_lon, other_lat)
        if distance > radius_m:
            continue
        theirs = _bigrams(char_text(other_text))
        sim = len(mine & theirs) / len(mine | theirs) if mine and theirs else 0.0
        if sim < min_similarity and distance > near_m:
            continue
        ranked.append((0.6 * sim + 0.4 * (1 - distance / radius_m), case_id, distance, sim))
    ranked.sort(key=lambda r: (-r[0], r[2], r[1]))
    if not ranked:
        return []
    if user is not None:
        from cityops.cases.permissions import cases_visible_to

        base = cases_visible_to(user)
    else:
        base = Case.objects.all()
    wanted = [r[1] for r in ranked[: limit * 4]]
    cases = base.filter(pk__in=wanted, status__in=OPEN_STATUSES, master__isnull=True).select_related("category").in_bulk()
    out = []
    for score, case_id, distance, sim in ranked:
        case = cases.get(case_id)
        if case is None:
            continue
        out.append({"case": case, "distance_m": round(distance), "similarity": round(sim, 2), "score": round(score, 3)})
        if len(out) >= limit:
            break
    return out
