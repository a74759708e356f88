"""Reads of the catalog: who handles a case (权责清单 routing), leaf categories, category suggestions,
and the time limit of a stage.
"""

from __future__ import annotations

import math
import re
import threading
import time as monotonic_time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Q, QuerySet
from django.utils import timezone

from cityops.catalog import workcal
from cityops.catalog.models import (
    CENTER_DEPARTMENT_CODE,
    Category,
    CategorySystem,
    Department,
    ResponsibilityRule,
    Stage,
    TimeLimit,
    Urgency,
)
from cityops.common.refcache import ReferenceCache
from cityops.geo.models import Region, RegionLevel

# Intake reads these on every case; they change when the catalogue is edited or reloaded.
# Cleared by catalog/signals.py on saves and deletes, and by load_reference_data (bulk writes).
category_rows = ReferenceCache("catalog.categories")
stage_limit_rows = ReferenceCache("catalog.time_limits")


class RoutingConfigurationError(LookupError):
    """Routing cannot even fall back: the command center's Department is missing."""


class MissingTimeLimit(LookupError):
    """Neither the category nor any of its ancestors has a limit for the stage and urgency asked for."""


class AssignmentSource(StrEnum):
    RULE = "rule"  # a line of the 权责清单
    TERRITORY = "territory"  # 属地兜底: the street office of the place
    CENTER = "center"  # 中心兜底: the command center itself


@dataclass(frozen=True)
class Assignment:
    """Where a case should go, and why (the reason is shown to dispatchers and stored on the case)."""

    lead: Department
    co_handlers: list[Department] = field(default_factory=list)
    rule: ResponsibilityRule | None = None
    reason: str = ""
    source: AssignmentSource = AssignmentSource.RULE


# ---------------------------------------------------------------------------- helpers


def category_ancestors(category: Category) -> list[Category]:
    """The category followed by its parent, grandparent…: most specific first."""
    chain = [category]
    seen = {category.pk}
    node = category
    while node.parent_id is not None and node.parent_id not in seen:
        node = node.parent  # type: ignore[assignment]
        seen.add(node.pk)
        chain.append(node)
    return chain


def _resolve_category(category: Category | str) -> Category:
    if isinstance(category, Category):
        return category
    return Category.objects.select_related("parent__parent__parent").get(code=category)


def _resolve_street(street: Region | str | None) -> Region | None:
    """The street/town a place belongs to; a community is taken up to its street, the district to None."""
    if street is None or street == "":
        return None
    region = street if isinstance(street, Region) else Region.objects.get(code=street)
    seen: set[int] = set()
    while region.level != RegionLevel.STREET:
        if region.level == RegionLevel.DISTRICT or region.parent_id is None or region.pk in seen:
            return None
        seen.add(region.pk)
        region = region.parent  # type: ignore[assignment]
    return region


def _label(department: Department) -> str:
    return department.short_name or department.name


def _local_today() -> date:
    return timezone.localtime(timezone.now(), workcal.TZ).date()


# ---------------------------------------------------------------------------- routing


def responsible_department(
    category: Category | str,
    street: Region | str | None = None,
    on_date: date | None = None,
) -> Assignment:
    """Who handles a case of `category` at a place in `street` on `on_date` (default: today).

    Looks for 权责清单 lines effective on the date (valid_to inclusive) whose lead department is
    active, walking from the category up through its ancestors: the most specific category wins;
    on the same category, a line limited to the case's street beats a district-wide one; among
    equals the latest valid_from wins. With no line at all the case goes to the street office of
    the place (属地兜底), and without a located street or an office to the command center — never
    to nobody.

    `street` may be a street Region, a community (taken up to its street) or a region code.
    """
    category = _resolve_category(category)
    street_region = _resolve_street(street)
    if isinstance(on_date, datetime):
        on_date = timezone.localtime(on_date, workcal.TZ).date()
    on_date = on_date or _local_today()

    chain = category_ancestors(category)
    depth = {node.pk: index for index, node in enumerate(chain)}
    place = Q(street__isnull=True)
    if street_region is not None:
        place |= Q(street=street_region)
    rules = list(
        ResponsibilityRule.objects.filter(place, category_id__in=depth.keys(), valid_from__lte=on_date, lead__active=True)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on_date))
        .select_related("lead", "category", "street")
        .prefetch_related("co_handlers")
    )
    if rules:
        rule = min(
            rules,
            key=lambda r: (depth[r.category_id], r.street_id is None, -r.valid_from.toordinal(), -r.pk),
        )
        where = f" @{rule.street.name}" if rule.street else ""
        reason = f"权责清单: {rule.category.code} {rule.category.name}{where} → {_label(rule.lead)}"
        if rule.category_id != category.pk:
            reason += f"（上级分类条目，适用于 {category.code} {category.name}）"
        co = [d for d in rule.co_handlers.all() if d.active and d.pk != rule.lead_id]
        return Assignment(lead=rule.lead, co_handlers=co, rule=rule, reason=reason, source=AssignmentSource.RULE)

    missing = f"权责清单中没有适用于 {category.code} {category.name} 的条目"
    if street_region is not None:
        office = Department.objects.filter(street=street_region, active=True).first()
        if office is not None:
            return Assignment(
                lead=office, reason=f"属地兜底: {office.name}（{missing}）", source=AssignmentSource.TERRITORY,
            )
        why = f"{street_region.name} 没有启用的属地部门"
    else:
        why = "事发地未定位到街道/镇"
    center = Department.objects.filter(code=CENTER_DEPARTMENT_CODE).first()
    if center is None:
        raise RoutingConfigurationError(
            f"未配置城运中心（部门编码 {CENTER_DEPARTMENT_CODE}），无法兜底派单：请先运行 cityops catalog load"
        )
    return Assignment(lead=center, reason=f"中心兜底: {center.name}（{missing}；{why}）", source=AssignmentSource.CENTER)


# ---------------------------------------------------------------------------- categories


def intake_category(code: str) -> tuple[Category | None, bool]:
    """The active category with this code (a fresh instance per call) and whether it has children."""

    def load():
        names = [f.attname for f in Category._meta.concrete_fields]
        row = Category.objects.filter(code=code, active=True).values_list(*names).first()
        if row is None:
            return None
        has_children = Category.objects.filter(parent_id=row[names.index("id")]).exists()
        return names, row, has_children

    entry = category_rows.get(code, load)
    if entry is None:
        return None, False
    names, row, has_children = entry
    return Category.from_db(DEFAULT_DB_ALIAS, names, row), has_children


def stage_limit_row(category_id: int, stage: str, urgency: str) -> tuple | None:
    """(value, unit) of the category's own time limit for the stage, or None."""
    return stage_limit_rows.get(
        (category_id, stage, urgency),
        lambda: TimeLimit.objects.filter(category_id=category_id, stage=stage, urgency=urgency)
        .values_list("value", "unit")
        .first(),
    )


def reference_caches_changed() -> None:
    category_rows.invalidate()
    stage_limit_rows.invalidate()


def leaf_categories(system: CategorySystem | str | None = None) -> QuerySet[Category]:
    """Active categories without children: the ones a case may be filed under."""
    qs = Category.objects.filter(active=True, children__isnull=True).select_related("parent")
    if system:
        qs = qs.filter(system=system)
    return qs.order_by("system", "sort_order", "code")


def time_limit(category: Category, stage: Stage | str, urgency: Urgency | str = Urgency.NORMAL) -> TimeLimit:
    """The limit for one stage: the category's own, else the nearest ancestor's."""
    chain = category_ancestors(category)
    limits = {
        tl.category_id: tl
        for tl in TimeLimit.objects.filter(category__in=chain, stage=stage, urgency=urgency).select_related("category")
    }
    for node in chain:
        if node.pk in limits:
            return limits[node.pk]
    raise MissingTimeLimit(f"{category.code} {category.name} 没有“{Stage(stage).label}/{Urgency(urgency).label}”时限")


def stage_deadline(
    category: Category, stage: Stage | str, start: datetime, urgency: Urgency | str = Urgency.NORMAL,
) -> datetime:
    """When `stage` of a case of `category` started at `start` falls due, in working time where the limit says so."""
    limit = time_limit(category, stage, urgency)
    return workcal.add_work_duration(start, limit.value, limit.unit)


# ---------------------------------------------------------------------------- suggestions

# Name fragments that say nothing about the problem.
_GENERIC_TERMS = {"其他", "其它", "其他问题", "其它问题"}
_SPLIT = re.compile(r"[()（）/、，,\s]+")
# Suggestions tolerate a stale index for this long when another process edited categories.
SUGGESTION_INDEX_TTL = 60.0


@dataclass(frozen=True)
class CategorySuggestion:
    """A leaf category that matches a text, with the terms that matched (for the dispatcher to see why)."""

    category: Category
    score: float
    matched: tuple[str, ...]


@dataclass(frozen=True)
class _IndexEntry:
    pk: int
    code: str
    system: str
    terms: tuple[tuple[str, float], ...]  # (term, weight)
    context: tuple[str, ...]  # ancestor names: only a tie-breaker


class _SuggestionIndex:
    def __init__(self) -> None:
        self.entries: list[_IndexEntry] | None = None
        self.built_at = 0.0
        self.lock = threading.Lock()


_index = _SuggestionIndex()


def suggestion_index_changed() -> None:
    """Rebuild the suggestion index on next use (Category signals and the loader call this)."""
    _index.entries = None


def _name_terms(name: str) -> list[str]:
    parts = [name, *(p for p in _SPLIT.split(name) if p)]
    return [p for p in dict.fromkeys(parts) if len(p) >= 2 and p not in _GENERIC_TERMS]


def _build_index() -> list[_IndexEntry]:
    entries: list[_IndexEntry] = []
    for cat in leaf_categories().select_related("parent__parent"):
        weights: dict[str, float] = {}
        for index, term in enumerate(_name_terms(cat.name)):
            # The full name is the strongest evidence, its fragments a bit less.
            weights[term] = max(weights.get(term, 0.0), (3.0 if index == 0 else 2.0) + len(term))
        for keyword in cat.keywords.split():
            if len(keyword) >= 2 and keyword not in _GENERIC_TERMS:
                # Longer keywords are more specific; "井盖" alone should not beat "燃气井盖".
                weights[keyword] = max(weights.get(keyword, 0.0), float(len(keyword)))
        context = tuple(
            term for node in category_ancestors(cat)[1:] for term in _name_terms(node.name)
        )
        entries.append(_IndexEntry(cat.pk, cat.code, cat.system, tuple(weights.items()), context))
    # A term many leaves share (井盖 in 17 cover types) is weak evidence for any one of them:
    # damp weights by how many leaves carry the term, as IDF does.
    frequency = Counter(term for entry in entries for term, _ in entry.terms)
    return [
        replace(entry, terms=tuple((t, w / (1.0 + math.log(frequency[t]))) for t, w in entry.terms))
        for entry in entries
    ]


def _entries() -> list[_IndexEntry]:
    entries = _index.entries
    now = monotonic_time.monotonic()
    if entries is None or now - _index.built_at > SUGGESTION_INDEX_TTL:
        with _index.lock:
            entries = _build_index()
            _index.entries, _index.built_at = entries, now
    return entries


def suggest_categories(
    text: str, limit: int = 5, system: CategorySystem | str | None = None,
) -> list[CategorySuggestion]:
    """Leaf categories whose names or keywords occur in `text`, best first.

    A plain substring score (full name > name fragment > keyword by length, ancestor names as a
    tie-breaker): the fallback suggestion until the trained router is available, and a sanity
    check beside it.
    """
    haystack = (text or "").lower()
    if not haystack.strip():
        return []
    scored: list[tuple[float, str, int, tuple[str, ...]]] = []
    for entry in _entries():
        if system and entry.system != system:
            continue
        matched = [(term, weight) for term, weight in entry.terms if term.lower() in haystack]
        if not matched:
            continue
        # A term inside a longer matched term (井盖 in 燃气井盖) is not new evidence: count the
        # longer one, at the best weight of the two (a name inside a keyword keeps its name weight).
        kept = [
            (term, max(w for t, w in matched if t in term))
            for term, _ in matched
            if not any(term != other and term in other for other, _ in matched)
        ]
        score = sum(w for _, w in kept)
        score += sum(0.5 for term in entry.context if term.lower() in haystack)
        scored.append((score, entry.code, entry.pk, tuple(t for t, _ in kept)))
    scored.sort(key=lambda row: (-row[0], row[1]))
    top = scored[: max(limit, 0)]
    categories = Category.objects.in_bulk([pk for _, _, pk, _ in top])
    return [
        CategorySuggestion(category=categories[pk], score=score, matched=matched)
        for score, _, pk, matched in top
        if pk in categories
    ]
