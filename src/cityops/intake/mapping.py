"""Translating what outside systems call things into ours: the city's category texts,
address texts and alarm event types. The tables are edited in the admin."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from cityops.catalog.models import Category
from cityops.intake.models import AddressMapping, AlarmTypeMapping, CityCategoryMapping

_SEPARATORS = re.compile(r"\s*(?:/|>|＞|-|—|－|\\|、|\|)\s*")


def normalize_category_text(text: str) -> str:
    """'城乡建设 > 市容环卫－垃圾清运 ' → '城乡建设/市容环卫/垃圾清运'."""
    parts = [p for p in _SEPARATORS.split((text or "").strip()) if p]
    return "/".join(parts)[:200]


@dataclass
class Point:
    lon: float
    lat: float
    pattern: str


@dataclass
class Mappings:
    """The mapping tables loaded once per request (a batch of 1,000 items reads them once)."""

    categories: dict[str, str | None] = field(default_factory=dict)  # city text → our leaf code (None: unmapped)
    leaf_codes: set[str] = field(default_factory=set)
    addresses: list[Point] = field(default_factory=list)  # longest pattern first

    @classmethod
    def load(cls) -> Mappings:
        leaf_codes = set(
            Category.objects.filter(active=True, children__isnull=True).values_list("code", flat=True)
        )
        categories = {
            text: code if code in leaf_codes else None
            for text, code in CityCategoryMapping.objects.filter(active=True).values_list("city_text", "category__code")
        }
        addresses = [
            Point(lon, lat, pattern)
            for pattern, lon, lat in AddressMapping.objects.filter(active=True, lon__isnull=False, lat__isnull=False)
            .values_list("pattern", "lon", "lat")
        ]
        addresses.sort(key=lambda p: len(p.pattern), reverse=True)
        return cls(categories=categories, leaf_codes=leaf_codes, addresses=addresses)

    def category_for(self, text: str) -> str | None:
        """Our leaf code for the city's text: the whole path first, then its last segment."""
        normalized = normalize_category_text(text)
        if not normalized:
            return None
        code = self.categories.get(normalized)
        if code is None and "/" in normalized:
            code = self.categories.get(normalized.rsplit("/", 1)[-1])
        return code

    def point_for(self, address: str) -> Point | None:
        address = (address or "").strip()
        if not address:
            return None
        for point in self.addresses:
            if point.pattern in address:
                return point
        return None


def remember_unmapped_category(text: str) -> None:
    """Put an unmapped city text on the admin's mapping list (or count it again)."""
    normalized = normalize_category_text(text)
    if not normalized:
        return
    now = timezone.now()
    updated = CityCategoryMapping.objects.filter(city_text=normalized, category__isnull=True).update(
        seen_count=F("seen_count") + 1, last_seen_at=now,
    )
    if updated or CityCategoryMapping.objects.filter(city_text=normalized).exists():
        return
    try:
        with transaction.atomic():
            CityCategoryMapping.objects.create(city_text=normalized, seen_count=1, last_seen_at=now, note="自动加入，待映射")
    except IntegrityError:  # another request added it first
        pass


def alarm_mapping(event_type: str) -> AlarmTypeMapping | None:
    """The active mapping of an event type, registering unknown types for the admin (unmapped)."""
    mapping = AlarmTypeMapping.objects.select_related("category").filter(event_type=event_type).first()
    if mapping is None:
        try:
            with transaction.atomic():
                AlarmTypeMapping.objects.create(event_type=event_type, seen_count=1)
        except IntegrityError:
            pass
        return None
    if not mapping.active or mapping.category_id is None:
        AlarmTypeMapping.objects.filter(pk=mapping.pk).update(seen_count=F("seen_count") + 1)
        return mapping if mapping.active else None
    return mapping


# ---------------------------------------------------------------- demo rows

DEMO_FILE = Path(__file__).resolve().parent / "data" / "demo_mappings.json"
_STREET_SUFFIXES = ("街道", "镇", "乡")


def _street_keywords(name: str) -> list[str]:
    """'东关大街街道' → ['东关大街街道', '东关大街']: the full name and the name citizens write."""
    keywords = [name]
    for suffix in _STREET_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            keywords.append(name[: -len(suffix)])
            break
    return keywords


def demo_mappings_ensure(path: Path = DEMO_FILE) -> dict[str, int]:
    """Add the demo's mapping rows that are missing (an administrator's edits are never
    overwritten): the city category texts and alarm types of `data/demo_mappings.json`, and
    for every loaded street its name (and short name) → a point inside it. Rows whose 小类 is
    not loaded are skipped. Returns how many rows of each table were added."""
    from shapely.geometry import shape

    from cityops.geo.models import Region, RegionLevel

    data = json.loads(path.read_text(encoding="utf-8"))
    leaves = {c.code: c for c in Category.objects.filter(active=True, children__isnull=True)}
    added = {"city_categories": 0, "alarm_types": 0, "addresses": 0}
    with transaction.atomic():
        for row in data["city_categories"]:
            if row["category"] in leaves:
                _, created = CityCategoryMapping.objects.get_or_create(
                    city_text=normalize_category_text(row["city_text"]),
                    defaults={"category": leaves[row["category"]], "note": row.get("note", "")},
                )
                added["city_categories"] += created
        for row in data["alarm_types"]:
            if row["category"] in leaves:
                _, created = AlarmTypeMapping.objects.get_or_create(
                    event_type=row["event_type"],
                    defaults={"category": leaves[row["category"]], "label": row.get("label", ""), "urgent": row.get("urgent", False)},
                )
                added["alarm_types"] += created
        for street in Region.objects.filter(level=RegionLevel.STREET, boundary__isnull=False).order_by("code"):
            point = shape(street.boundary).representative_point()
            for keyword in _street_keywords(street.name):
                _, created = AddressMapping.objects.get_or_create(
                    pattern=keyword,
                    defaults={"lon": round(point.x, 6), "lat": round(point.y, 6), "region": street, "note": "演示：街道内一点"},
                )
                added["addresses"] += created
    return added
