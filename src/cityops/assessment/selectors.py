"""Reads behind the assessment pages and API: the monthly ranking of each evaluated kind with
month-over-month change, and the status of the center's performance targets.

`targets_status(start, end)` is the entry point other apps use (the big screen's targets panel).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from cityops.accounts import roles
from cityops.accounts.selectors import ROLE_LOOKUP
from cityops.assessment import metrics
from cityops.assessment.indicators import COUNTS, Indicator, Kind, grade, grade_label, indicators_for
from cityops.assessment.models import AssessmentSnapshot
from cityops.assessment.periods import (
    Period,
    PeriodError,
    current_month,
    month_period,
    parse_month,
    previous_month,
)
from cityops.assessment.scoring import Scheme, composite, scheme_for
from cityops.assessment.targets import TargetStatus, targets_status

__all__ = [
    "Figure",
    "RankRow",
    "Ranking",
    "TargetStatus",
    "assessment_ranking",
    "kind_counts",
    "ranking_between",
    "subjects",
    "targets_status",
]

PERSON_ROLES = {Kind.INSPECTOR: roles.INSPECTOR, Kind.OPERATOR: roles.OPERATOR, Kind.DISPATCHER: roles.DISPATCHER}


@dataclass(frozen=True)
class Subject:
    id: int
    name: str
    sublabel: str = ""
    active: bool = True


def _role_users(kind: str) -> list[Subject]:
    from cityops.accounts.models import User

    users = User.objects.filter(**{ROLE_LOOKUP: PERSON_ROLES[Kind(kind)]}).select_related("department").order_by("username").distinct()
    return [Subject(u.pk, str(u), u.username, u.is_active) for u in users]


def subjects(kind: str) -> list[Subject]:
    """Everyone and everything that can be evaluated as `kind`."""
    kind = Kind(kind)
    if kind == Kind.DEPARTMENT:
        from cityops.catalog.models import Department, DepartmentKind

        qs = Department.objects.exclude(kind=DepartmentKind.CENTER).order_by("kind", "code")
        return [Subject(d.pk, d.short_name or d.name, d.get_kind_display(), d.active) for d in qs]
    if kind == Kind.STREET:
        from cityops.geo.models import Region, RegionLevel

        return [Subject(r.pk, r.display_name, r.kind or "街道", True) for r in Region.objects.filter(level=RegionLevel.STREET).order_by("code")]
    return _role_users(kind)


def _compute(kind: str, period: Period, people: list[Subject] | None = None) -> metrics.Counts:
    kind = Kind(kind)
    if kind == Kind.DEPARTMENT:
        return metrics.department_counts(period)
    if kind == Kind.STREET:
        return metrics.street_counts(period)
    ids = [s.id for s in (people if people is not None else subjects(kind))]
    compute = {Kind.INSPECTOR: metrics.inspector_counts, Kind.OPERATOR: metrics.operator_counts, Kind.DISPATCHER: metrics.dispatcher_counts}[kind]
    return compute(period, ids)


def kind_counts(kind: str, period: Period, *, people: list[Subject] | None = None) -> tuple[metrics.Counts, str]:
    """The counts of every subject of `kind` over a month: from its snapshot when the month is
    closed and was frozen, else aggregated live. Returns (counts, "snapshot" | "live").
    Snapshots hold whole months: a week or another range is always aggregated live."""
    if period.closed and period.whole_month:
        month = period.first_day.replace(day=1)
        snap = AssessmentSnapshot.objects.filter(kind=kind, month=month).values_list("data", flat=True).first()
        if snap is not None:
            return metrics.with_due({int(k): v for k, v in snap.items()}), "snapshot"
    return _compute(kind, period, people), "live"


def snapshot_month(first: date, *, now: datetime | None = None) -> list[str]:
    """Freeze the counts of every kind for a closed month (overwrites). Raises PeriodError if the
    month has not ended yet."""
    period = month_period(first, now=now)
    if not period.closed:
        raise PeriodError(f"{period.label}尚未结束，不能生成快照。")
    done = []
    for kind in Kind:
        data = {str(k): v for k, v in _compute(kind, period).items()}
        AssessmentSnapshot.objects.update_or_create(kind=kind, month=period.first_day, defaults={"data": data})
        done.append(kind.value)
    return done


# ---------------------------------------------------------------- ranking


@dataclass
class Figure:
    indicator: Indicator
    value: Decimal | None
    numerator: int
    denominator: int | None
    weight: int

    @property
    def display(self) -> str:
        if self.value is None:
            return "—"
        if self.indicator.is_rate:
            return f"{self.value:.1f}%"
        return f"{int(self.value)}"

    @property
    def fraction(self) -> str:
        if not self.indicator.is_rate:
            return ""
        return f"{self.numerator}/{self.denominator}"


@dataclass
class RankRow:
    subject: Subject
    figures: list[Figure]
    counts: dict[str, int]
    score: Decimal | None
    grade: str | None
    missing: list[str]
    rank: int | None = None
    prev_score: Decimal | None = None
    prev_rank: int | None = None

    @property
    def has_data(self) -> bool:
        return any(self.counts.values())

    @property
    def grade_label(self) -> str:
        return grade_label(self.grade)

    @property
    def change(self) -> Decimal | None:
        if self.score is None or self.prev_score is None:
            return None
        return self.score - self.prev_score

    @property
    def change_abs(self) -> Decimal | None:
        return abs(self.change) if self.change is not None else None

    @property
    def rank_change_abs(self) -> int | None:
        return abs(self.rank_change) if self.rank_change is not None else None

    @property
    def rank_change(self) -> int | None:
        """Places gained since last month (positive: moved up)."""
        if self.rank is None or self.prev_rank is None:
            return None
        return self.prev_rank - self.rank


@dataclass
class Ranking:
    kind: Kind
    period: Period | None
    previous: Period | None
    indicators: list[Indicator]
    scheme: Scheme
    rows: list[RankRow] = field(default_factory=list)
    message: str = ""
    source: str = "live"
    previous_has_data: bool = False

    @property
    def scored_rows(self) -> list[RankRow]:
        return [r for r in self.rows if r.score is not None]

    @property
    def counts_used(self) -> list:
        keys = []
        for item in self.indicators:
            for key in (item.numerator, item.denominator):
                if key and key not in keys:
                    keys.append(key)
        return [COUNTS[k] for k in keys]

    @property
    def empty(self) -> bool:
        return not self.scored_rows


def _rows(kind: str, counts: metrics.Counts, people: list[Subject], scheme: Scheme) -> list[RankRow]:
    items = indicators_for(kind)
    known = {s.id: s for s in people}
    rows = []
    for subject_id in list(known) + [k for k in counts if k not in known]:
        subject = known.get(subject_id) or Subject(subject_id, f"#{subject_id}", "已停用", False)
        mine = counts.get(subject_id, {})
        if not subject.active and not any(mine.values()):
            continue
        values = {i.code: i.value(mine) for i in items}
        figures = [
            Figure(i, values[i.code], int(mine.get(i.numerator, 0) or 0),
                   int(mine.get(i.denominator, 0) or 0) if i.denominator else None, scheme.weights.get(i.code, 0))
            for i in items
        ]
        result = composite(items, values, scheme.weights)
        rows.append(RankRow(subject, figures, mine, result.score, grade(result.score), result.missing))
    return rows


def _rank(rows: list[RankRow]) -> dict[int, int]:
    """Competition ranking (1, 2, 2, 4) by score; subjects without a score are not ranked."""
    scored = sorted((r for r in rows if r.score is not None), key=lambda r: -r.score)
    ranks: dict[int, int] = {}
    for position, row in enumerate(scored, start=1):
        previous = scored[position - 2] if position > 1 else None
        ranks[row.subject.id] = ranks[previous.subject.id] if previous and previous.score == row.score else position
    return ranks


def assessment_ranking(kind: str, month: str | date | None = None, *, now: datetime | None = None) -> Ranking:
    """The ranking of `kind` for a month ('YYYY-MM', a date in it, or None for this month),
    with each subject's change against the previous month. Bad input never raises: the
    ranking comes back empty with `message` saying why."""
    try:
        kind = Kind(kind)
    except ValueError:
        kind = Kind.DEPARTMENT
    scheme = scheme_for(kind)
    ranking = Ranking(kind, None, None, indicators_for(kind), scheme)
    try:
        first = month.replace(day=1) if isinstance(month, date) else parse_month(month, now=now)
        if first > current_month(now):
            raise PeriodError(f"{first.year}年{first.month}月尚未开始，没有考核数据。")
    except PeriodError as exc:
        ranking.message = str(exc)
        return ranking
    ranked = ranking_between(kind, month_period(first, now=now), month_period(previous_month(first), now=now), scheme=scheme)
    if ranked.empty:
        period = ranked.period
        ranked.message = f"{period.label}暂无{kind.label}考核数据" + ("（本月刚开始）。" if not period.closed and period.elapsed_days <= 1 else "。")
    return ranked


def ranking_between(kind: str, period: Period, previous: Period, *, scheme: Scheme | None = None) -> Ranking:
    """The ranking of `kind` over any period (a month, a week of a weekly report) with each
    subject's change against `previous`. `message` is left empty."""
    kind = Kind(kind)
    scheme = scheme or scheme_for(kind)
    ranking = Ranking(kind, period, previous, indicators_for(kind), scheme)
    people = subjects(kind)
    counts, ranking.source = kind_counts(kind, period, people=people)
    prev_counts, _ = kind_counts(kind, previous, people=people)
    rows = _rows(kind, counts, people, scheme)
    prev_rows = {r.subject.id: r for r in _rows(kind, prev_counts, people, scheme)}
    ranks, prev_ranks = _rank(rows), _rank(list(prev_rows.values()))
    ranking.previous_has_data = bool(prev_ranks)
    for row in rows:
        row.rank = ranks.get(row.subject.id)
        before = prev_rows.get(row.subject.id)
        row.prev_score = before.score if before else None
        row.prev_rank = prev_ranks.get(row.subject.id)
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, not r.has_data, r.subject.name))
    ranking.rows = rows
    return ranking
