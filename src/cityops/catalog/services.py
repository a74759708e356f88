"""Writes of the catalog: loading the versioned reference data files shipped in `catalog/data/`.

The files are the source of truth for what they contain: a load creates what is missing and
updates what differs, by natural key (category code, department code, (category, street,
valid_from) for 权责清单 lines, date for calendar overrides), so running it twice changes
nothing. Rows that exist only in the database (added by an admin) are left alone.

Everything is validated while loading inside one transaction; the first problem raises
`ReferenceDataError` naming the file, the entry and the offending code, and nothing is written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Model

from cityops.catalog import selectors
from cityops.catalog.models import (
    NOT_PUBLISHABLE_CODES,
    CalendarOverride,
    Category,
    CategoryKind,
    CategorySystem,
    Department,
    DepartmentKind,
    LimitUnit,
    ResponsibilityRule,
    Stage,
    TimeLimit,
    Urgency,
)
from cityops.geo.models import Region, RegionLevel

DATA_DIR = Path(__file__).resolve().parent / "data"
URBAN_FILE = "urban_categories.json"
HOTLINE_FILE = "hotline_categories.json"
DEPARTMENTS_FILE = "departments.json"
MATRIX_FILE = "responsibility_matrix.json"
CALENDAR_FILE = "calendar_overrides.json"

GEO_HINT = "请先加载行政区划（cityops geo load）"


class ReferenceDataError(Exception):
    """A reference data file is wrong; the message says which file, which entry and which code."""

    def __init__(self, file: str, entry: str, message: str) -> None:
        self.file, self.entry, self.detail = file, entry, message
        super().__init__(f"{file}：{entry}：{message}")


@dataclass
class LoadCount:
    """How many rows of one kind a load created, updated and found already right."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def __str__(self) -> str:
        return f"新增 {self.created}，更新 {self.updated}，未变 {self.unchanged}"


@dataclass
class LoadReport:
    """Counts per kind of row, for the command's output and for tests."""

    categories: LoadCount = field(default_factory=LoadCount)
    time_limits: LoadCount = field(default_factory=LoadCount)
    departments: LoadCount = field(default_factory=LoadCount)
    rules: LoadCount = field(default_factory=LoadCount)
    calendar_overrides: LoadCount = field(default_factory=LoadCount)

    def lines(self) -> list[str]:
        return [
            f"分类：{self.categories}",
            f"处置时限：{self.time_limits}",
            f"部门：{self.departments}",
            f"权责清单：{self.rules}",
            f"节假日调整：{self.calendar_overrides}",
        ]


# ---------------------------------------------------------------------------- small parsers

_UNIT_WORDS = {label: value for value, label in LimitUnit.choices} | {value: value for value in LimitUnit.values}
_LIMIT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(\S+)\s*$")


def parse_limit(text: str) -> tuple[Decimal, LimitUnit]:
    """Parse "1.5 工作日" / "6 小时" / "2 work_hour" into (value, unit); ValueError when malformed."""
    match = _LIMIT_RE.match(str(text))
    if not match or match.group(2) not in _UNIT_WORDS:
        units = "、".join(label for _, label in LimitUnit.choices)
        raise ValueError(f"时限 {text!r} 格式应为“数值 单位”，单位为 {units}")
    try:
        value = Decimal(match.group(1))
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only numbers
        raise ValueError(f"时限 {text!r} 的数值无效") from exc
    if value <= 0 or value != value.quantize(Decimal("0.1")) or value >= Decimal("100000"):
        raise ValueError(f"时限 {text!r} 须为大于 0、最多一位小数的数")
    return value.quantize(Decimal("0.1")), LimitUnit(_UNIT_WORDS[match.group(2)])


def _read_json(data_dir: Path, name: str) -> dict[str, Any]:
    path = data_dir / name
    try:
        with path.open(encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError as exc:
        raise ReferenceDataError(name, "文件", f"找不到 {path}") from exc
    except json.JSONDecodeError as exc:
        raise ReferenceDataError(name, f"第 {exc.lineno} 行", f"JSON 格式错误：{exc.msg}") from exc
    if not isinstance(doc, dict):
        raise ReferenceDataError(name, "文件", "顶层必须是 JSON 对象")
    return doc


def _check_keys(file: str, entry: str, item: Any, allowed: set[str], required: Iterable[str]) -> None:
    """Unknown keys are typos ("keyword" for "keywords") that would silently load nothing: refuse them."""
    if not isinstance(item, dict):
        raise ReferenceDataError(file, entry, "条目必须是 JSON 对象")
    unknown = sorted(k for k in item if k not in allowed and not k.startswith("_"))
    if unknown:
        raise ReferenceDataError(file, entry, f"未知字段 {', '.join(unknown)}")
    for key in required:
        if item.get(key) in (None, ""):
            raise ReferenceDataError(file, entry, f"缺少字段 {key}")


def _choice(file: str, entry: str, value: Any, choices: type, what: str) -> str:
    if value not in choices.values:  # type: ignore[attr-defined]
        allowed = "、".join(choices.values)  # type: ignore[attr-defined]
        raise ReferenceDataError(file, entry, f"{what} {value!r} 无效，可选：{allowed}")
    return str(value)


def _date(file: str, entry: str, value: Any, what: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise ReferenceDataError(file, entry, f"{what} {value!r} 不是 YYYY-MM-DD 日期") from exc


def _text(file: str, entry: str, value: Any, what: str, max_length: int) -> str:
    if isinstance(value, list):  # keywords may be written as a list
        value = " ".join(str(v) for v in value)
    text = "" if value is None else str(value).strip()
    if len(text) > max_length:
        raise ReferenceDataError(file, entry, f"{what} 超过 {max_length} 个字符")
    return text


def _save(instance: Any, values: dict[str, Any]) -> str:
    """Apply `values` to an existing row; save only what changed. Returns "updated" or "unchanged"."""
    changed = []
    for name, value in values.items():
        if isinstance(value, Model) or (value is None and _is_relation(instance, name)):
            # Compare keys, not instances: reading the relation would cost a query per row.
            same = getattr(instance, f"{name}_id") == (value.pk if value is not None else None)
        else:
            same = getattr(instance, name) == value
        if not same:
            changed.append(name)
    if not changed:
        return "unchanged"
    for name in changed:
        setattr(instance, name, values[name])
    instance.save(update_fields=[*changed, *(["updated_at"] if hasattr(instance, "updated_at") else [])])
    return "updated"


def _is_relation(instance: Any, name: str) -> bool:
    return bool(instance._meta.get_field(name).is_relation)


# ---------------------------------------------------------------------------- categories

_CATEGORY_KEYS = {
    "code", "name", "kind", "default_urgency", "register_condition", "close_condition", "keywords",
    "time_limits", "children", "active",
}
LimitTable = dict[tuple[str, str], tuple[Decimal, LimitUnit]]


def _parse_limits(file: str, entry: str, raw: Any, inherited: LimitTable) -> LimitTable:
    table = dict(inherited)
    if raw is None:
        return table
    if not isinstance(raw, dict):
        raise ReferenceDataError(file, entry, "time_limits 必须是 {环节: {紧急程度: 时限}} 对象")
    for stage, per_urgency in raw.items():
        if stage.startswith("_"):
            continue
        _choice(file, entry, stage, Stage, "环节")
        if not isinstance(per_urgency, dict):
            raise ReferenceDataError(file, entry, f"环节 {stage} 的时限必须是 {{紧急程度: 时限}} 对象")
        for urgency, text in per_urgency.items():
            _choice(file, entry, urgency, Urgency, "紧急程度")
            try:
                table[(stage, urgency)] = parse_limit(text)
            except ValueError as exc:
                raise ReferenceDataError(file, f"{entry} {stage}/{urgency}", str(exc)) from exc
    return table


@dataclass
class _Node:
    code: str
    values: dict[str, Any]
    parent_code: str | None
    limits: LimitTable
    is_leaf: bool
    entry: str


def _walk_categories(file: str, doc: dict[str, Any]) -> Iterator[_Node]:
    """Yield every node of a category file, parents before children, with inherited values resolved."""
    system = _choice(file, "system", doc.get("system"), CategorySystem, "体系")
    defaults = _parse_limits(file, "default_time_limits", doc.get("default_time_limits"), {})
    roots = doc.get("categories")
    if not isinstance(roots, list) or not roots:
        raise ReferenceDataError(file, "categories", "必须是非空列表")

    def walk(item: Any, parent: _Node | None, level: int, position: int, path: str) -> Iterator[_Node]:
        entry = f"{path}[{position}]"
        if isinstance(item, dict) and item.get("code"):
            entry = f"{entry}（code={item['code']}）"
        _check_keys(file, entry, item, _CATEGORY_KEYS, ["code", "name"])
        code = str(item["code"]).strip()
        if len(code) > 16:
            raise ReferenceDataError(file, entry, f"编码 {code} 超过 16 个字符")
        if parent is not None and not code.startswith(parent.code):
            raise ReferenceDataError(file, entry, f"编码 {code} 应以上级编码 {parent.code} 开头")
        kind = item.get("kind") or (parent.values["kind"] if parent else None)
        if kind is None:
            raise ReferenceDataError(file, entry, "顶层分类必须给出 kind（part/event/demand）")
        urgency = item.get("default_urgency") or (parent.values["default_urgency"] if parent else Urgency.NORMAL)
        children = item.get("children") or []
        if not isinstance(children, list):
            raise ReferenceDataError(file, entry, "children 必须是列表")
        values = {
            "name": _text(file, entry, item["name"], "名称", 64),
            "system": system,
            "kind": _choice(file, entry, kind, CategoryKind, "kind"),
            "level": level,
            "register_condition": _text(file, entry, item.get("register_condition"), "立案条件", 200),
            "close_condition": _text(file, entry, item.get("close_condition"), "结案条件", 200),
            "default_urgency": _choice(file, entry, urgency, Urgency, "default_urgency"),
            "keywords": _text(file, entry, item.get("keywords"), "关键词", 400),
            "sort_order": position,
        }
        if "active" in item:
            values["active"] = bool(item["active"])
        limits = _parse_limits(file, entry, item.get("time_limits"), parent.limits if parent else defaults)
        node = _Node(code, values, parent.code if parent else None, limits, not children, entry)
        if node.is_leaf:
            missing = [f"{s}/{u}" for s in Stage.values for u in Urgency.values if (s, u) not in limits]
            if missing:
                raise ReferenceDataError(file, entry, f"末级分类缺少时限：{', '.join(missing)}")
        yield node
        for index, child in enumerate(children, start=1):
            yield from walk(child, node, level + 1, index, f"{entry} > children")

    for index, root in enumerate(roots, start=1):
        yield from walk(root, None, 1, index, "categories")


def _load_categories(file: str, doc: dict[str, Any], report: LoadReport, seen: dict[str, str]) -> None:
    existing = {c.code: c for c in Category.objects.all()}
    leaves: list[tuple[Category, LimitTable]] = []
    new_by_level: dict[int, list[Category]] = {}
    for node in _walk_categories(file, doc):
        if node.code in seen:
            raise ReferenceDataError(file, node.entry, f"编码 {node.code} 重复（已在 {seen[node.code]} 中出现）")
        seen[node.code] = file
        values = dict(node.values)
        values["parent"] = existing[node.parent_code] if node.parent_code else None
        category = existing.get(node.code)
        if category is None:
            # 部件 need an after-photo on 处置反馈 (migration catalog/0002 did the same for existing
            # rows); afterwards the flag is the administrators' to change, a reload keeps it.
            category = Category(code=node.code, requires_after_photo=values["kind"] == CategoryKind.PART,
                                publishable=node.code not in NOT_PUBLISHABLE_CODES, **values)
            existing[node.code] = category
            new_by_level.setdefault(node.values["level"], []).append(category)
            report.categories.add("created")
        else:
            if category.system != values["system"]:
                raise ReferenceDataError(
                    file, node.entry, f"编码 {node.code} 已被 {category.get_system_display()} 体系的分类占用",
                )
            report.categories.add(_save(category, values))
        if node.is_leaf:
            leaves.append((category, node.limits))
    # One INSERT per level instead of one per row; parents are saved (and get their keys) before
    # their children. Signals are bypassed, hence the explicit index invalidation in the caller.
    for level in sorted(new_by_level):
        Category.objects.bulk_create(new_by_level[level], batch_size=500)
    _load_time_limits(leaves, report)


def _load_time_limits(leaves: list[tuple[Category, LimitTable]], report: LoadReport) -> None:
    # Bulk operations: ~10 limits per leaf, hundreds of leaves; row-by-row would dominate the load.
    existing = {
        (tl.category_id, tl.stage, tl.urgency): tl
        for tl in TimeLimit.objects.filter(category__in=[c for c, _ in leaves])
    }
    to_create: list[TimeLimit] = []
    to_update: list[TimeLimit] = []
    for category, limits in leaves:
        for (stage, urgency), (value, unit) in limits.items():
            current = existing.get((category.pk, stage, urgency))
            if current is None:
                to_create.append(TimeLimit(category=category, stage=stage, urgency=urgency, value=value, unit=unit))
                report.time_limits.add("created")
            elif current.value != value or current.unit != unit:
                current.value, current.unit = value, unit
                to_update.append(current)
                report.time_limits.add("updated")
            else:
                report.time_limits.add("unchanged")
    TimeLimit.objects.bulk_create(to_create, batch_size=500)
    TimeLimit.objects.bulk_update(to_update, ["value", "unit"], batch_size=500)


# ---------------------------------------------------------------------------- departments


def _street_region(file: str, entry: str, code: Any) -> Region:
    code = str(code).strip()
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise ReferenceDataError(file, entry, f"行政区域 {code} 不存在：{GEO_HINT}")
    if region.level != RegionLevel.STREET:
        raise ReferenceDataError(file, entry, f"行政区域 {code}（{region.name}）不是街道/镇级区域")
    return region


def _load_departments(file: str, doc: dict[str, Any], report: LoadReport) -> None:
    rows = doc.get("departments")
    if not isinstance(rows, list) or not rows:
        raise ReferenceDataError(file, "departments", "必须是非空列表")
    existing = {d.code: d for d in Department.objects.select_related("street")}
    seen: set[str] = set()
    for index, item in enumerate(rows, start=1):
        entry = f"departments[{index}]"
        _check_keys(file, entry, item, {"code", "name", "short_name", "kind", "street", "phone", "active"}, ["code", "name", "kind"])
        code = str(item["code"]).strip()
        entry = f"{entry}（code={code}）"
        if code in seen:
            raise ReferenceDataError(file, entry, f"部门编码 {code} 重复")
        seen.add(code)
        kind = _choice(file, entry, item["kind"], DepartmentKind, "kind")
        street = None
        if item.get("street"):
            street = _street_region(file, entry, item["street"])
        elif kind == DepartmentKind.STREET:
            raise ReferenceDataError(file, entry, "街道/镇类部门必须给出 street（9 位区划代码）")
        if street is not None:
            holder = Department.objects.filter(street=street).exclude(code=code).first()
            if holder is not None:
                raise ReferenceDataError(file, entry, f"行政区域 {street.code} 已关联部门 {holder.code}（{holder.name}）")
        values: dict[str, Any] = {
            "name": _text(file, entry, item["name"], "名称", 64),
            "short_name": _text(file, entry, item.get("short_name"), "简称", 16),
            "kind": kind,
            "street": street,
            "phone": _text(file, entry, item.get("phone"), "联系电话", 32),
        }
        if "active" in item:
            values["active"] = bool(item["active"])
        department = existing.get(code)
        if department is None:
            Department.objects.create(code=code, **values)
            report.departments.add("created")
        else:
            report.departments.add(_save(department, values))


# ---------------------------------------------------------------------------- 权责清单


def _load_rules(file: str, doc: dict[str, Any], report: LoadReport) -> None:
    rows = doc.get("rules")
    if not isinstance(rows, list) or not rows:
        raise ReferenceDataError(file, "rules", "必须是非空列表")
    default_from = doc.get("valid_from")
    categories = {c.code: c for c in Category.objects.all()}
    departments = {d.code: d for d in Department.objects.all()}
    regions: dict[str, Region] = {}
    existing = {
        (r.category_id, r.street_id, r.valid_from): r
        for r in ResponsibilityRule.objects.prefetch_related("co_handlers")
    }
    seen: set[tuple[str, str | None, date]] = set()
    new_rules: list[tuple[ResponsibilityRule, list[Department]]] = []
    for index, item in enumerate(rows, start=1):
        entry = f"rules[{index}]"
        _check_keys(
            file, entry, item,
            {"category", "category_name", "street", "lead", "co_handlers", "valid_from", "valid_to", "basis"},
            ["category", "lead"],
        )
        code = str(item["category"]).strip()
        entry = f"{entry}（category={code}）"
        category = categories.get(code)
        if category is None:
            raise ReferenceDataError(file, entry, f"分类编码 {code} 不存在")
        if item.get("category_name") and item["category_name"] != category.name:
            raise ReferenceDataError(
                file, entry, f"分类编码 {code} 的名称是“{category.name}”，与 category_name“{item['category_name']}”不符",
            )
        street = None
        if item.get("street"):
            street_code = str(item["street"]).strip()
            if street_code not in regions:
                regions[street_code] = _street_region(file, entry, street_code)
            street = regions[street_code]
        lead = departments.get(str(item["lead"]).strip())
        if lead is None:
            raise ReferenceDataError(file, entry, f"主办部门编码 {item['lead']} 不存在")
        co_codes = item.get("co_handlers") or []
        if not isinstance(co_codes, list):
            raise ReferenceDataError(file, entry, "co_handlers 必须是部门编码列表")
        co_handlers = []
        for co_code in co_codes:
            department = departments.get(str(co_code).strip())
            if department is None:
                raise ReferenceDataError(file, entry, f"协办部门编码 {co_code} 不存在")
            if department == lead:
                raise ReferenceDataError(file, entry, f"协办部门 {co_code} 与主办部门相同")
            co_handlers.append(department)
        if not (item.get("valid_from") or default_from):
            raise ReferenceDataError(file, entry, "缺少 valid_from（条目或文件级）")
        valid_from = _date(file, entry, item.get("valid_from") or default_from, "valid_from")
        valid_to = _date(file, entry, item["valid_to"], "valid_to") if item.get("valid_to") else None
        if valid_to is not None and valid_to < valid_from:
            raise ReferenceDataError(file, entry, f"valid_to {valid_to} 早于 valid_from {valid_from}")
        key = (code, street.code if street else None, valid_from)
        if key in seen:
            raise ReferenceDataError(file, entry, f"（分类 {code}、街道 {key[1] or '全区'}、生效日期 {valid_from}）重复")
        seen.add(key)

        values = {"lead": lead, "valid_to": valid_to, "basis": _text(file, entry, item.get("basis"), "依据", 200)}
        rule = existing.get((category.pk, street.pk if street else None, valid_from))
        if rule is None:
            rule = ResponsibilityRule(category=category, street=street, valid_from=valid_from, **values)
            new_rules.append((rule, co_handlers))
            report.rules.add("created")
            continue
        outcome = _save(rule, values)
        if {d.pk for d in rule.co_handlers.all()} != {d.pk for d in co_handlers}:
            rule.co_handlers.set(co_handlers)
            outcome = "updated"
        report.rules.add(outcome)

    # A first load creates a couple of hundred lines: insert them and their co-handlers in bulk.
    ResponsibilityRule.objects.bulk_create([rule for rule, _ in new_rules], batch_size=500)
    through = ResponsibilityRule.co_handlers.through
    through.objects.bulk_create(
        [through(responsibilityrule_id=rule.pk, department_id=d.pk) for rule, co in new_rules for d in co],
        batch_size=500,
    )


# ---------------------------------------------------------------------------- calendar


def _load_calendar_overrides(file: str, doc: dict[str, Any], report: LoadReport) -> None:
    rows = doc.get("overrides")
    if not isinstance(rows, list):
        raise ReferenceDataError(file, "overrides", "必须是列表（可以为空）")
    seen: set[date] = set()
    for index, item in enumerate(rows, start=1):
        entry = f"overrides[{index}]"
        _check_keys(file, entry, item, {"date", "is_workday", "note"}, ["date"])
        day = _date(file, entry, item["date"], "date")
        entry = f"{entry}（date={day}）"
        if day in seen:
            raise ReferenceDataError(file, entry, f"日期 {day} 重复")
        seen.add(day)
        if not isinstance(item.get("is_workday"), bool):
            raise ReferenceDataError(file, entry, "is_workday 必须是 true 或 false")
        values = {"is_workday": item["is_workday"], "note": _text(file, entry, item.get("note"), "说明", 100)}
        override = CalendarOverride.objects.filter(date=day).first()
        if override is None:
            CalendarOverride.objects.create(date=day, **values)
            report.calendar_overrides.add("created")
        else:
            report.calendar_overrides.add(_save(override, values))


# ---------------------------------------------------------------------------- entry point


def load_reference_data(data_dir: Path | None = None) -> LoadReport:
    """Load categories, time limits, departments, the 权责清单 and calendar overrides from the data files.

    Idempotent, all-or-nothing (one transaction). Street-linked departments and street-specific
    rules need the geo Regions of the streets: load those first (`cityops geo load`).
    Raises ReferenceDataError on the first invalid entry.
    """
    data_dir = Path(data_dir) if data_dir else DATA_DIR
    report = LoadReport()
    with transaction.atomic():
        seen_codes: dict[str, str] = {}
        for name in (URBAN_FILE, HOTLINE_FILE):
            _load_categories(name, _read_json(data_dir, name), report, seen_codes)
        _load_departments(DEPARTMENTS_FILE, _read_json(data_dir, DEPARTMENTS_FILE), report)
        _load_rules(MATRIX_FILE, _read_json(data_dir, MATRIX_FILE), report)
        _load_calendar_overrides(CALENDAR_FILE, _read_json(data_dir, CALENDAR_FILE), report)
        # A suggestion made during the load may have indexed rows that were not committed yet.
        transaction.on_commit(selectors.suggestion_index_changed)
        selectors.reference_caches_changed()  # bulk writes send no signals
    selectors.suggestion_index_changed()
    return report
