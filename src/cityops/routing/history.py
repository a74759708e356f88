"""Learning from the floor: a training set from the case history, with corrected labels.

A case teaches the model when a department accepted it. Two label spaces (`level`):

* "leaf" (what the 立案 desk needs, and what `services.retrain_if_due` trains): the case's own
  leaf category (小类) of either system — the category the operator registered, or changed it
  to, so an operator's correction of the model's suggestion is the label. A case whose last
  dispatch was returned as a mis-dispatch with nothing after it is left out (unresolved); one
  re-dispatched after such a return keeps its (possibly re-classified) category;
* "root" (the public 7-class benchmark's space): the model class (一级 hotline category) its
  category falls under, corrected from what happened next:

* dispatched and never returned as "not our duty" after its last dispatch → its category
  stands (the operator's category, possibly changed at 立案, is the final one);
* returned as "not our duty" and re-dispatched to a department that kept it → if that
  department handles the case's class in the 权责清单 the label stands; if it handles
  exactly one class, that class is the corrected label; otherwise the case is left out;
* its last dispatch was returned as a mis-dispatch and nothing followed → left out
  (nobody knows the right answer yet).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from cityops.cases.models import Case, CaseEvent
from cityops.cases.states import Action
from cityops.catalog.models import Category, CategorySystem, ResponsibilityRule
from cityops.catalog.selectors import category_ancestors
from cityops.routing.training import Dataset

Level = Literal["leaf", "root"]


@dataclass
class HistoryReport:
    used: int = 0
    corrected: int = 0
    left_out_unresolved: int = 0
    left_out_ambiguous: int = 0
    left_out_uncovered: int = 0


def _root_code(category: Category, cache: dict[int, str | None]) -> str | None:
    if category.pk not in cache:
        chain = category_ancestors(category)
        root = chain[-1]
        cache[category.pk] = root.code if root.system == CategorySystem.HOTLINE else None
    return cache[category.pk]


def department_classes() -> dict[str, set[str]]:
    """Department code → the hotline 一级 classes it leads some 权责清单 line of."""
    out: dict[str, set[str]] = defaultdict(set)
    cache: dict[int, str | None] = {}
    for rule in ResponsibilityRule.objects.select_related("lead", "category__parent__parent__parent"):
        if rule.category.system != CategorySystem.HOTLINE:
            continue
        root = _root_code(rule.category, cache)
        if root:
            out[rule.lead.code].add(root)
    return out


def history_dataset(
    *, since: datetime | None = None, until: datetime | None = None, level: Level = "root",
) -> tuple[Dataset, HistoryReport]:
    """Texts and corrected labels of the cases that were dispatched: hotline cases labelled by
    their 一级 class (`level="root"`), or cases of both systems by their leaf category ("leaf")."""
    report = HistoryReport()
    events = CaseEvent.objects.filter(action__in=[Action.DISPATCH, Action.RETURN])
    if level == "root":
        events = events.filter(case__category__system=CategorySystem.HOTLINE)
    if since:
        events = events.filter(case__created_at__gte=since)
    if until:
        events = events.filter(case__created_at__lt=until)
    timeline: dict[int, list[tuple]] = defaultdict(list)
    for case_id, _created_at, _event_id, action, department, payload in events.values_list(
        "case_id", "created_at", "id", "action", "department__code", "payload",
    ).order_by("case_id", "created_at", "id"):
        timeline[case_id].append((action, department or (payload or {}).get("department"), bool((payload or {}).get("mis_dispatch"))))
    if not timeline:
        return Dataset([], [], [], {}, "案件历史"), report
    by_department = department_classes() if level == "root" else {}
    cases = Case.objects.filter(pk__in=list(timeline)).select_related("category__parent__parent__parent").only(
        "pk", "number", "title", "description", "category",
    )
    cache: dict[int, str | None] = {}
    texts: list[str] = []
    labels: list[str] = []
    ids: list[str] = []
    for case in cases.iterator(chunk_size=1000):
        if level == "leaf":
            label = case.category.code if case.category_id else None
        else:
            label = _root_code(case.category, cache) if case.category_id else None
        if label is None:
            report.left_out_uncovered += 1
            continue
        final_department = None
        was_returned = False
        for action, department, mis_dispatch in timeline[case.pk]:
            if action == Action.DISPATCH:
                final_department = department
            elif mis_dispatch:
                was_returned = True
                final_department = None
        if final_department is None:
            report.left_out_unresolved += 1
            continue
        if was_returned and level == "root":
            handles = by_department.get(final_department, set())
            if label not in handles:
                if len(handles) == 1:
                    label = next(iter(handles))
                    report.corrected += 1
                else:
                    report.left_out_ambiguous += 1
                    continue
        texts.append("\n".join(p for p in (case.title, case.description) if p))
        labels.append(label)
        ids.append(case.number)
        report.used += 1
    return Dataset(texts, labels, ids, {}, "案件历史"), report
