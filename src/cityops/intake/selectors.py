"""Reads behind the intake pages: map layers, point lookup, the citizen-safe case view and
the inspector's task lists."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import shapely
from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet
from shapely.geometry import shape
from shapely.ops import polylabel

from cityops.accounts import roles
from cityops.cases.models import AttachmentKind, Case, Channel
from cityops.cases.permissions import cases_visible_to
from cityops.cases.states import Action, Satisfaction, Status
from cityops.common.pii import mask_text
from cityops.geo.geometry import to_geojson
from cityops.geo.lookup import VERSION_CACHE_KEY, locate
from cityops.geo.models import Region, RegionLevel, UnitGrid

# ---------------------------------------------------------------- map layers

LEVELS = (RegionLevel.DISTRICT, RegionLevel.STREET, RegionLevel.COMMUNITY)
# ~20 m: invisible at the zoom a picker shows a street, and shrinks the payload several times.
SIMPLIFY_TOLERANCE_DEG = 0.0002
# 1e-5° ≈ 1 m, far below the simplification error.
OUTPUT_DECIMALS = 5
LAYER_CACHE_SECONDS = 24 * 3600


def geo_version() -> str:
    """The token that `geo.lookup` bumps on every region/grid change (shared through the cache)."""
    version = cache.get(VERSION_CACHE_KEY)
    if version is None:
        cache.add(VERSION_CACHE_KEY, uuid.uuid4().hex, None)
        version = cache.get(VERSION_CACHE_KEY) or "unversioned"
    return str(version)


def parse_levels(raw: str | None) -> list[str]:
    """'district,street' → ['district', 'street']; raises ValueError on an unknown level."""
    if not raw:
        return [RegionLevel.DISTRICT.value, RegionLevel.STREET.value]
    levels = []
    for part in raw.split(","):
        part = part.strip()
        if part not in RegionLevel.values:
            raise ValueError(part)
        if part not in levels:
            levels.append(part)
    return sorted(levels, key=[level.value for level in LEVELS].index)


def _simplified(geoms: list) -> list:
    """Simplify a layer; a coverage-aware simplification keeps neighbours' shared edges shared."""
    if not geoms:
        return []
    try:
        result = list(shapely.coverage_simplify(geoms, SIMPLIFY_TOLERANCE_DEG))
        if all(g.is_valid and not g.is_empty for g in result):
            return result
    except Exception:  # not a clean coverage (overlaps, GEOS without coverage support)
        pass
    return [shapely.simplify(g, SIMPLIFY_TOLERANCE_DEG, preserve_topology=True) for g in geoms]


def _label_point(geom) -> list[float] | None:
    """Where a region's name goes: the pole of inaccessibility of its largest part (ECharts `cp`)."""
    if geom.is_empty:
        return None
    parts = [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon"]
    if not parts:
        return None
    largest = max(parts, key=lambda g: g.area)
    try:
        point = polylabel(largest, tolerance=SIMPLIFY_TOLERANCE_DEG / 4)
    except Exception:  # degenerate ring
        point = largest.representative_point()
    return [round(point.x, OUTPUT_DECIMALS), round(point.y, OUTPUT_DECIMALS)]


def _layer_features(level: str, district_code: str) -> list[dict[str, Any]]:
    rows = list(
        Region.objects.filter(code__startswith=district_code, level=level, boundary__isnull=False)
        .order_by("code")
        .values("code", "name", "short_name", "level", "synthetic", "boundary", "parent__code")
    )
    rows = [r for r in rows if r["boundary"]]
    geoms = [shape(r["boundary"]) for r in rows]
    if level != RegionLevel.DISTRICT:
        geoms = _simplified(geoms)
    features = []
    for row, geom in zip(rows, geoms, strict=True):
        features.append({
            "type": "Feature",
            "properties": {
                "code": row["code"], "name": row["name"], "short_name": row["short_name"] or row["name"],
                "level": row["level"], "parent": row["parent__code"], "synthetic": row["synthetic"],
                "cp": _label_point(geom),
            },
            "geometry": to_geojson(geom, OUTPUT_DECIMALS),
        })
    return features


def regions_geojson(levels: list[str]) -> tuple[bytes, str]:
    """The FeatureCollection of the requested levels as JSON bytes, and its ETag.

    Built once per geo-data version and kept in the cache; every change of regions or
    grids bumps the version, so stale layers are never served."""
    district_code = settings.CITYOPS_DISTRICT_CODE
    version = geo_version()
    etag = hashlib.sha1(f"{district_code}:{','.join(levels)}:{version}".encode(), usedforsecurity=False).hexdigest()[:20]
    key = f"intake:regions:{etag}"
    body = cache.get(key)
    if body is None:
        features = [f for level in levels for f in _layer_features(level, district_code)]
        collection = {
            "type": "FeatureCollection",
            "crs_note": "WGS-84 (EPSG:4326)",
            "synthetic": any(f["properties"]["synthetic"] for f in features),
            "features": features,
        }
        body = json.dumps(collection, ensure_ascii=False, separators=(",", ":")).encode()
        cache.set(key, body, LAYER_CACHE_SECONDS)
    return body, etag


# ---------------------------------------------------------------- point lookup


def locate_point(lon: float, lat: float, coord_system: str = "wgs84") -> dict[str, Any]:
    """Street / community / grid of a point, names and codes, for the map picker.

    Raises geo.lookup.OutsideDistrictError (or NoGeoDataError) like `locate`."""
    location = locate(lon, lat, coord_system)
    grid = None
    if location.grid_code:
        grid_row = UnitGrid.objects.filter(code=location.grid_code).values("code", "name", "synthetic").first()
        grid = {"code": location.grid_code, "name": (grid_row or {}).get("name") or location.grid_code,
                "synthetic": bool((grid_row or {}).get("synthetic"))}
    short = dict(
        Region.objects.filter(code__in=[c for c in (location.street_code, location.community_code) if c])
        .values_list("code", "short_name")
    )
    return {
        "lon": round(location.lon, 7),
        "lat": round(location.lat, 7),
        "coord_system": "wgs84",
        "street": {"code": location.street_code, "name": short.get(location.street_code) or location.street_name}
        if location.street_code else None,
        "community": {"code": location.community_code, "name": short.get(location.community_code) or location.community_name}
        if location.community_code else None,
        "grid": grid,
    }


# ---------------------------------------------------------------- the citizen-safe case view

# What a citizen is told a status means; internal states (退回, 挂账) read as plain progress.
PUBLIC_STATUS = {
    Status.NEW: ("待受理", "pending"),
    Status.REGISTERED: ("已立案", "working"),
    Status.DISPATCHED: ("已派遣，处置中", "working"),
    Status.IN_PROGRESS: ("处置中", "working"),
    Status.RETURNED: ("派遣中", "working"),
    Status.SUSPENDED: ("处置中（需较长时间）", "working"),
    Status.RESPONDED: ("已处置，待核查", "working"),
    Status.CLOSED: ("已办结", "done"),
    Status.REJECTED: ("不予立案", "rejected"),
}

PUBLIC_PHOTO_KINDS = (AttachmentKind.BEFORE, AttachmentKind.AFTER, AttachmentKind.VERIFY)


@dataclass
class Milestone:
    at: datetime
    title: str
    text: str
    kind: str = "step"  # step | done | warn


@dataclass
class PublicCase:
    number: str
    tracking_code: str
    case_type: str
    category: str
    status: str
    status_class: str
    area: str
    created_at: datetime
    closed_at: datetime | None
    satisfaction: str  # the reporter's own rating (never a staff callback's result)
    can_rate: bool
    milestones: list[Milestone] = field(default_factory=list)
    photos: list[dict[str, str]] = field(default_factory=list)


def public_case_view(case: Case) -> PublicCase:
    """Everything the tracking page shows, and nothing else: no reporter name or phone,
    no address, no description, no internal notes, only metadata-free photos."""
    from cityops.intake.services import citizen_can_rate

    status_label, status_class = PUBLIC_STATUS.get(Status(case.status), (case.get_status_display(), "working"))
    if case.status == Status.CLOSED and case.master_id:
        status_label = "已办结（合并办理）"
    area = " ".join(
        r.short_name or r.name for r in (case.street, case.community) if r is not None
    )
    return PublicCase(
        number=case.number, tracking_code=case.tracking_code,
        case_type=case.get_case_type_display(), category=case.category.name if case.category else "",
        status=status_label, status_class=status_class, area=area,
        created_at=case.created_at, closed_at=case.closed_at,
        satisfaction=Satisfaction(case.citizen_satisfaction).label if case.citizen_satisfaction else "",
        can_rate=citizen_can_rate(case), milestones=public_milestones(case), photos=public_photos(case),
    )


def public_milestones(case: Case) -> list[Milestone]:
    events = list(case.events.select_related("department").order_by("created_at", "id"))
    last_respond = max((e.pk for e in events if e.action == Action.RESPOND), default=None)
    out: list[Milestone] = []
    for e in events:
        dept = e.department.name if e.department else ""
        if e.action == Action.CREATE:
            out.append(Milestone(e.created_at, "受理", f"已收到您的反映（{Channel(case.channel).label}）。"))
        elif e.action == Action.REGISTER:
            out.append(Milestone(e.created_at, "立案", "经审核，已立案办理。"))
        elif e.action == Action.REJECT:
            out.append(Milestone(e.created_at, "不予立案", "经审核，该反映不予立案。如有疑问请拨打 12345 咨询。", "warn"))
        elif e.action == Action.ANSWER:
            # The tracking page is reached with a code alone: personal data in staff texts stays masked.
            text = f"已答复：{mask_text(case.answer)}" if case.answer else "已答复。"
            out.append(Milestone(e.created_at, "结案", text, "done"))
        elif e.action == Action.MERGE:
            out.append(Milestone(e.created_at, "结案", "该问题已有其他市民反映，已合并办理。", "done"))
        elif e.action == Action.DISPATCH:
            out.append(Milestone(e.created_at, "派遣", f"已派遣至 {dept or '责任单位'} 处置。"))
        elif e.action == Action.RESPOND:
            text = f"{dept or '处置单位'}反馈：{mask_text(case.result)}" if e.pk == last_respond and case.result else f"{dept or '处置单位'}已反馈处置结果。"
            out.append(Milestone(e.created_at, "处置反馈", text))
        elif e.action == Action.VERIFY:
            if e.to_status == Status.CLOSED:
                out.append(Milestone(e.created_at, "结案", "经现场核查，问题已处置，案件办结。", "done"))
            else:
                out.append(Milestone(e.created_at, "核查", "经现场核查，处置未达要求，已要求重新处置。", "warn"))
        elif e.action in (Action.CALLBACK, Action.RATE):
            value = (e.payload or {}).get("satisfaction")
            label = Satisfaction(value).label if value in Satisfaction.values else ""
            # Before `rate` existed a citizen's rating was a `callback` event with source=citizen.
            if e.action == Action.RATE or (e.payload or {}).get("source") == "citizen":
                out.append(Milestone(e.created_at, "评价", f"您的评价：{label}。"))
            elif e.to_status == Status.DISPATCHED:
                out.append(Milestone(e.created_at, "回访", "根据回访情况，已重新派遣办理。", "warn"))
            else:
                out.append(Milestone(e.created_at, "回访", f"工作人员回访，记录满意度：{label}。" if label else "已回访。"))
        elif e.action == Action.REOPEN:
            out.append(Milestone(e.created_at, "重办", f"经复核，已要求 {dept or '处置单位'} 重新办理。", "warn"))
    return out


def public_photos(case: Case) -> list[dict[str, str]]:
    photos = []
    for a in case.attachments.filter(kind__in=PUBLIC_PHOTO_KINDS).exclude(public_file="").order_by("created_at", "id"):
        photos.append({"url": a.public_file.url, "label": AttachmentKind(a.kind).label})
    return photos


def case_by_tracking_code(code: str) -> Case | None:
    code = "".join((code or "").split()).upper()
    if not code or len(code) > 12:
        return None
    return Case.objects.select_related("category", "street", "community").filter(tracking_code=code).first()


# ---------------------------------------------------------------- inspector


def is_inspector(user) -> bool:
    return bool(user.is_authenticated and user.is_active and (user.is_superuser or user.has_role(roles.INSPECTOR)))


def verification_tasks(user) -> QuerySet[Case]:
    """Cases waiting for on-site verification (已反馈) in the inspector's own grids."""
    qs = cases_visible_to(user).filter(status=Status.RESPONDED)
    if not user.is_superuser:
        qs = qs.filter(grid__in=user.grids.all())
    return qs.select_related("category", "department", "street", "community", "grid").order_by("deadline", "responded_at", "id")


def my_reports(user, limit: int = 50) -> list[Case]:
    return list(
        cases_visible_to(user).filter(created_by=user)
        .select_related("category", "street", "community").order_by("-created_at", "-id")[:limit]
    )
