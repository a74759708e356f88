"""Load generator: `cityops seed --cases N --days D` writes N realistic cases with their events.

Realistic shape, generated in NumPy, day by day over the last D days:

* volume: weekly seasonality (weekdays busier than weekends, holidays quieter, from the
  working calendar), a daily profile (night trough, peaks 09–11 and 14–17), a slight trend;
* channel mix (city 12345 platform, hotline, inspectors, web, API/IoT) and case types;
* categories with a long-tailed (Zipf) mix, departments from the 权责清单;
* locations: points inside the unit grids of the loaded geography, busier grids weighted;
* processing times (log-normal delays for registration, dispatch, signing, handling,
  verification and callback), so recent cases are still open in every state;
* a share of rejections, direct answers, returns (mis-dispatch) and re-dispatches, extension
  requests (some still pending), overdue cases (handling past the deadline), and callbacks
  with 满意 / 基本满意 / 不满意.

Each case gets its CaseEvent rows (create, register, dispatch, return, sign, extension,
respond, verify, callback …), consistent with its timestamps and status, and the SLA fields
of its current stage (deadline, 80 % point, level as of now). Deadlines use the real working
calendar's working days (`workcal.is_workday`, 调休 included) with the category's time limits;
working-hour limits are approximated (office hours of the start day).

Speed: on PostgreSQL rows go in with COPY (text format, built column-wise from NumPy arrays,
bypassing the ORM), cases and events on two connections in parallel while the next chunk is
generated. When the load at least doubles the table, secondary indexes are dropped first and
rebuilt at the end (the standard bulk-load recipe; `--indexes keep` to disable); as a
superuser the foreign-key triggers are skipped (`session_replication_role = replica`): the
generator only writes ids it read from the reference tables. Elsewhere (SQLite) the same rows
go through `bulk_create`.

Needs the reference data and the demo geography first (`cityops demo`).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from cityops.accounts.selectors import ROLE_LOOKUP
from cityops.cases.models import Case, CaseEvent, CaseNumberCounter, Channel
from cityops.cases.states import Action, Status
from cityops.catalog import workcal

US = 1_000_000
MINUTE = 60 * US
HOUR = 60 * MINUTE
DAY = 24 * HOUR
TZ_OFFSET = 8 * HOUR  # Asia/Shanghai, no daylight saving
NULL = "\\N"

# Hour-of-day profile of incoming cases (local time), relative weights.
HOURLY = np.array([
    0.15, 0.08, 0.05, 0.04, 0.05, 0.12, 0.35, 0.80, 1.55, 2.10, 2.20, 1.90,
    1.20, 1.05, 1.70, 1.95, 1.85, 1.55, 1.05, 0.85, 0.75, 0.60, 0.40, 0.25,
])
WEEKDAY = np.array([1.12, 1.04, 1.0, 1.0, 0.96, 0.70, 0.64])  # Mon … Sun
HOLIDAY_FACTOR = 0.6

CHANNELS = np.array([Channel.CITY_PLATFORM, Channel.HOTLINE, Channel.INSPECTOR, Channel.WEB, Channel.API, Channel.IOT], dtype=object)
CHANNEL_P = np.array([0.44, 0.24, 0.20, 0.07, 0.02, 0.03])
CASE_TYPES = np.array(["complaint", "help", "consult", "report", "suggest", "praise"], dtype=object)
CASE_TYPE_P = np.array([0.46, 0.24, 0.15, 0.08, 0.05, 0.02])

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "玉兰", "海燕", "志强", "永福", "晓东", "文"]
PLACES = ["东门", "西门", "南门口", "北侧", "小区内", "十字路口", "公交站旁", "人行道", "主干道", "背街小巷", "广场", "沿街商铺前",
          "学校门口", "菜市场旁", "停车场", "单元楼下", "桥下", "绿化带", "河道边", "工地旁"]
TEMPLATES = [
    "{place}{cat}，已经好几天了，影响居民出行，请尽快处理。",
    "反映{place}存在{cat}问题，多次发现无人处理，希望相关部门核实。",
    "{place}附近{cat}，晚上尤其明显，群众意见很大。",
    "网格巡查发现{place}{cat}，现场拍照上报，请派单处置。",
    "市民来电称{place}{cat}，要求尽快整改并回复。",
    "{place}{cat}情况反复出现，建议加强日常巡查和管理。",
]
RESULT_TEXT = "已安排人员现场处置完毕，经复查问题已解决。"
ANSWER_TEXT = "已向来电人解释相关政策规定，来电人表示理解。"
SATISFACTION = np.array(["satisfied", "basically_satisfied", "unsatisfied"], dtype=object)
SATISFACTION_P = np.array([0.86, 0.09, 0.05])

# Shares of the lifecycle.
P_REJECT = 0.04
P_ANSWER_CONSULT = 0.55
P_RETURN = 0.05
P_EXTENSION = 0.06
P_CALLBACK = 0.85


def _lognormal(rng: np.random.Generator, median_us: float, sigma: float, n: int) -> np.ndarray:
    return (median_us * np.exp(rng.normal(0.0, sigma, n))).astype(np.int64)


# ---------------------------------------------------------------- reference data


@dataclass
class Reference:
    """What the generator reads from the database once: geography, categories, departments, users."""

    grid_id: np.ndarray
    grid_community: np.ndarray
    grid_street: np.ndarray
    grid_weight: np.ndarray
    grid_points: np.ndarray  # (grids, K, 2) lon/lat inside each grid
    grid_address_base: np.ndarray  # index into addresses: community index * len(PLACES)
    addresses: np.ndarray
    street_index_of_grid: np.ndarray
    cat_id: np.ndarray
    cat_code: np.ndarray
    cat_weight: np.ndarray
    cat_titles: np.ndarray
    descriptions: np.ndarray  # (cats * len(TEMPLATES)) rendered texts
    dept_of: np.ndarray  # (cats, streets) department id
    dept_ids: np.ndarray  # every active non-center department id
    dept_code: dict[int, str]
    dept_user: dict[int, int]
    user_label: dict[int, str]
    limits: dict[str, tuple[np.ndarray, np.ndarray]]  # stage -> (value per cat, unit per cat)
    operator: int | None
    dispatcher: int | None
    inspector: int | None
    system: int | None


def load_reference(rng: np.random.Generator, points_per_grid: int = 48) -> Reference:
    from shapely import contains_xy
    from shapely.geometry import shape

    from cityops.accounts import roles
    from cityops.accounts.models import User
    from cityops.catalog.models import (
        Category,
        Department,
        DepartmentKind,
        ResponsibilityRule,
        Stage,
        TimeLimit,
        Urgency,
    )
    from cityops.catalog.selectors import AssignmentSource, category_ancestors, responsible_department
    from cityops.geo.models import Region, UnitGrid

    grids = list(UnitGrid.objects.order_by("code").values_list("pk", "community_id", "street_id", "boundary"))
    if not grids:
        raise RuntimeError("没有网格数据：请先执行 `cityops demo` 加载基础数据和演示网格。")
    leaves = list(
        Category.objects.filter(active=True, children__isnull=True).order_by("code").values_list("pk", "code", "name")
    )
    if not leaves:
        raise RuntimeError("没有案件分类：请先执行 `cityops demo`（或 `cityops catalog load`）。")

    # Geography: a few points inside each grid, and each grid's weight (busy centre, quiet outskirts).
    n_grids = len(grids)
    pts = np.zeros((n_grids, points_per_grid, 2))
    for i, (_pk, _c, _s, boundary) in enumerate(grids):
        polygon = shape(boundary)
        minx, miny, maxx, maxy = polygon.bounds
        found = np.empty((0, 2))
        for _ in range(20):
            cand = np.column_stack([rng.uniform(minx, maxx, 4 * points_per_grid), rng.uniform(miny, maxy, 4 * points_per_grid)])
            found = np.vstack([found, cand[contains_xy(polygon, cand[:, 0], cand[:, 1])]])
            if len(found) >= points_per_grid:
                break
        if len(found) == 0:
            rp = polygon.representative_point()
            found = np.array([[rp.x, rp.y]])
        pts[i] = found[np.arange(points_per_grid) % len(found)]
    grid_id = np.array([g[0] for g in grids], dtype=np.int64)
    grid_community = np.array([g[1] or 0 for g in grids], dtype=np.int64)
    grid_street = np.array([g[2] or 0 for g in grids], dtype=np.int64)
    grid_weight = rng.lognormal(0.0, 0.8, n_grids)
    grid_weight /= grid_weight.sum()

    communities = sorted(set(grid_community.tolist()))
    names = dict(Region.objects.filter(pk__in=communities).values_list("pk", "name"))
    community_index = {pk: i for i, pk in enumerate(communities)}
    addresses = np.array([f"{names.get(pk, '')}{place}" for pk in communities for place in PLACES], dtype=object)
    grid_address_base = np.array([community_index[c] * len(PLACES) for c in grid_community], dtype=np.int64)
    streets = sorted(set(grid_street.tolist()))
    street_index = {pk: i for i, pk in enumerate(streets)}
    street_index_of_grid = np.array([street_index[s] for s in grid_street], dtype=np.int64)

    # Categories: a long tail. Departments for each (category, street) from the responsibility matrix.
    order = rng.permutation(len(leaves))
    top = min(len(leaves), 160)
    chosen = [leaves[i] for i in order[:top]]
    cat_weight = 1.0 / np.arange(1, top + 1) ** 1.05
    cat_weight /= cat_weight.sum()
    street_regions = {r.pk: r for r in Region.objects.filter(pk__in=streets)}
    categories = {c.pk: c for c in Category.objects.filter(pk__in=[c[0] for c in chosen])}
    today = timezone.localdate()
    dept_of = np.zeros((top, len(streets)), dtype=np.int64)
    local_rules = set(ResponsibilityRule.objects.filter(street__isnull=False).values_list("category_id", flat=True))
    for ci, (pk, _code, _name) in enumerate(chosen):
        district_wide = responsible_department(categories[pk], None, today)
        chain = {node.pk for node in category_ancestors(categories[pk])}
        if district_wide.source == AssignmentSource.RULE and not (chain & local_rules):
            dept_of[ci, :] = district_wide.lead.pk  # the same department in every street
            continue
        for si, spk in enumerate(streets):
            dept_of[ci, si] = responsible_department(categories[pk], street_regions.get(spk), today).lead.pk
    descriptions = np.array([t.format(place="", cat=name) for _pk, _code, name in chosen for t in TEMPLATES], dtype=object)

    limits: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    cat_index = {pk: i for i, (pk, _c, _n) in enumerate(chosen)}
    for stage, default in ((Stage.SIGN, (1.0, "work_day")), (Stage.HANDLE, (5.0, "work_day")), (Stage.VERIFY, (1.0, "work_day"))):
        values = np.full(top, default[0])
        units = np.full(top, UNITS.index(default[1]), dtype=np.int64)
        for cat_pk, value, unit in TimeLimit.objects.filter(category_id__in=cat_index, stage=stage, urgency=Urgency.NORMAL).values_list(
            "category_id", "value", "unit"
        ):
            values[cat_index[cat_pk]] = float(value)
            units[cat_index[cat_pk]] = UNITS.index(unit)
        limits[str(stage)] = (values, units)

    departments = list(Department.objects.filter(active=True).exclude(kind=DepartmentKind.CENTER).values_list("pk", "code"))
    dept_code = dict(departments)
    dept_code.update(Department.objects.values_list("pk", "code"))
    users = list(User.objects.filter(is_active=True).values_list("pk", "username", "display_name", "department_id"))
    user_label = {pk: (display or username) for pk, username, display, _d in users}
    by_name = {username: pk for pk, username, _disp, _d in users}
    dept_user: dict[int, int] = {}
    for pk, username, _disp, dept in users:
        if dept and username.startswith("dept-"):
            dept_user.setdefault(dept, pk)

    def first_with_role(role: str) -> int | None:
        return User.objects.filter(is_active=True, **{ROLE_LOOKUP: role}).order_by("pk").values_list("pk", flat=True).first()

    return Reference(
        grid_id=grid_id, grid_community=grid_community, grid_street=grid_street, grid_weight=grid_weight, grid_points=pts,
        grid_address_base=grid_address_base, addresses=addresses, street_index_of_grid=street_index_of_grid,
        cat_id=np.array([c[0] for c in chosen], dtype=np.int64), cat_code=np.array([c[1] for c in chosen], dtype=object),
        cat_weight=cat_weight, cat_titles=np.array([c[2] for c in chosen], dtype=object), descriptions=descriptions,
        dept_of=dept_of, dept_ids=np.array([d[0] for d in departments], dtype=np.int64), dept_code=dept_code,
        dept_user=dept_user, user_label=user_label, limits=limits,
        operator=by_name.get("operator") or first_with_role(roles.OPERATOR),
        dispatcher=by_name.get("dispatcher") or first_with_role(roles.DISPATCHER),
        inspector=by_name.get("inspector") or first_with_role(roles.INSPECTOR),
        system=first_with_role(roles.SYSTEM),
    )


# ---------------------------------------------------------------- calendar


class Calendar:
    """Working days of a date range as arrays, for vectorised deadlines."""

    def __init__(self, first: date, last: date) -> None:
        self.first = first
        self.epoch_day = (first - date(1970, 1, 1)).days
        n = (last - first).days + 1
        days = [first + timedelta(days=i) for i in range(n)]
        self.workday = np.array([workcal.is_workday(d) for d in days], dtype=bool)
        self.holiday = np.array([(not w) and d.weekday() < 5 for d, w in zip(days, self.workday, strict=True)], dtype=bool)
        self.cum = np.cumsum(self.workday)
        self.weekday = np.array([d.weekday() for d in days], dtype=np.int64)

    def day_index(self, t_us: np.ndarray) -> np.ndarray:
        """Index of the local date of each UTC timestamp."""
        return (t_us + TZ_OFFSET) // DAY - self.epoch_day

    def at_local(self, day_idx: np.ndarray, offset_us: int) -> np.ndarray:
        return (day_idx + self.epoch_day) * DAY + offset_us - TZ_OFFSET

    def nth_workday_after(self, day_idx: np.ndarray, n: np.ndarray) -> np.ndarray:
        target = self.cum[np.clip(day_idx, 0, len(self.cum) - 1)] + n
        return np.minimum(np.searchsorted(self.cum, target, side="left"), len(self.cum) - 1)

    def deadline(self, start: np.ndarray, value: np.ndarray | float, unit: np.ndarray | int) -> np.ndarray:
        """Deadline of a limit `value unit` from `start` (UTC µs) on the working calendar;
        `unit` is a code into UNITS (work_hour, work_day, hour, day)."""
        value = np.broadcast_to(np.asarray(value, dtype=float), start.shape)
        unit = np.broadcast_to(np.asarray(unit), start.shape)
        out = start + (value * HOUR).astype(np.int64)  # natural hours
        out = np.where(unit == U_DAY, start + (value * DAY).astype(np.int64), out)
        work = (unit == U_WORK_DAY) | (unit == U_WORK_HOUR)
        if work.any():
            days = np.where(unit[work] == U_WORK_HOUR, value[work] / 7.5, value[work])
            whole = np.maximum(1, np.ceil(days).astype(np.int64))
            close = self.at_local(self.nth_workday_after(self.day_index(start[work]), whole), 18 * HOUR)
            # Under one working day: that many office hours from the start (approximation).
            short = days < 1
            out[work] = np.where(short, start[work] + (value[work] * HOUR * 1.6).astype(np.int64), close)
        return out


# ---------------------------------------------------------------- one chunk of cases

STATUSES = [s.value for s in Status]
STAGES = ["", "register", "dispatch", "sign", "handle", "verify"]
UNITS = ["", "work_hour", "work_day", "hour", "day"]
U_WORK_HOUR, U_WORK_DAY, U_HOUR, U_DAY = 1, 2, 3, 4
SLA = ["none", "green", "yellow", "red"]
SAT = ["", *SATISFACTION.tolist()]
EXTENSION_REQUEST = json.dumps({"value": "2", "unit": "work_day", "reason": "需协调产权单位共同处置"}, ensure_ascii=False)

# Event kinds: (action, from, to, note).
KINDS = [
    (Action.CREATE, "", Status.NEW, ""),
    (Action.REJECT, Status.NEW, Status.REJECTED, "不属于受理范围，已告知反映人"),
    (Action.ANSWER, Status.NEW, Status.CLOSED, ANSWER_TEXT),
    (Action.REGISTER, Status.NEW, Status.REGISTERED, ""),
    (Action.DISPATCH, Status.REGISTERED, Status.DISPATCHED, ""),
    (Action.RETURN, Status.DISPATCHED, Status.RETURNED, "非本单位职责"),
    (Action.DISPATCH, Status.RETURNED, Status.DISPATCHED, ""),
    (Action.SIGN, Status.DISPATCHED, Status.IN_PROGRESS, ""),
    (Action.REQUEST_EXTENSION, Status.IN_PROGRESS, Status.IN_PROGRESS, "需协调产权单位共同处置"),
    (Action.APPROVE_EXTENSION, Status.IN_PROGRESS, Status.IN_PROGRESS, ""),
    (Action.RESPOND, Status.IN_PROGRESS, Status.RESPONDED, RESULT_TEXT),
    (Action.VERIFY, Status.RESPONDED, Status.CLOSED, ""),
    (Action.CALLBACK, Status.CLOSED, Status.CLOSED, ""),
]
K_CREATE, K_REJECT, K_ANSWER, K_REGISTER, K_DISPATCH, K_RETURN, K_REDISPATCH, K_SIGN, K_EXT_REQ, K_EXT_OK, K_RESPOND, K_VERIFY, K_CALLBACK = range(len(KINDS))


def _pick(rng: np.random.Generator, p: np.ndarray, n: int) -> np.ndarray:
    return rng.choice(len(p), size=n, p=p)


@dataclass
class Chunk:
    """One chunk's cases and events as NumPy arrays (codes into small tables, µs timestamps, -1 = NULL)."""

    n_cases: int
    n_events: int
    cases: dict[str, np.ndarray]
    events: dict[str, np.ndarray]
    counters: dict[date, int]


class Payloads:
    """The event payloads (JSON) and, for create events without a user, the channel label."""

    def __init__(self, ref: Reference) -> None:
        self.json: list[str] = ["{}"]
        self.label: list[str] = [""]
        self.channel = self._many([json.dumps({"channel": c, "coord_system": "wgs84"}) for c in CHANNELS], [Channel(c).label for c in CHANNELS])
        self.category = self._many([json.dumps({"category": c}) for c in ref.cat_code])
        dept_ids = sorted(ref.dept_code)
        self.dept_index = np.full(max(dept_ids, default=0) + 2, 0, dtype=np.int64)
        self.dept_index[dept_ids] = np.arange(len(dept_ids))
        self.dispatch = self._many([json.dumps({"department": ref.dept_code[d], "route": "manual"}, ensure_ascii=False) for d in dept_ids])
        self.returned = self._many([json.dumps({"reason": "not_our_duty", "mis_dispatch": True, "department": ref.dept_code[d]}) for d in dept_ids])
        self.extension = self._many([json.dumps({"value": "2", "unit": "work_day"})])[0]
        self.verify = self._many(['{"passed": true}'])[0]
        self.satisfaction = self._many([json.dumps({"satisfaction": s}) for s in SATISFACTION])

    def _many(self, items: list[str], labels: list[str] | None = None) -> np.ndarray:
        start = len(self.json)
        self.json.extend(items)
        self.label.extend(labels or [""] * len(items))
        return np.arange(start, start + len(items))


class Generator:
    def __init__(self, ref: Reference, cal: Calendar, now_us: int, rng: np.random.Generator) -> None:
        self.ref, self.cal, self.now, self.rng = ref, cal, now_us, rng
        self.payloads = Payloads(ref)
        self.dept_user = np.full(max(ref.dept_code, default=0) + 2, -1, dtype=np.int64)
        for d, u in ref.dept_user.items():
            self.dept_user[d] = u

    def cases_for_days(self, day_counts: list[tuple[int, int, int]], first_id: int, first_event_id: int) -> Chunk:
        """`day_counts`: (calendar day index, how many cases, first sequence number of that day)."""
        rng, ref, cal, now, pl = self.rng, self.ref, self.cal, self.now, self.payloads
        created_parts, seq_parts, day_parts = [], [], []
        hourly = HOURLY / HOURLY.sum()
        for day_idx, count, first_seq in day_counts:
            start = int(cal.at_local(np.array([day_idx]), 0)[0])
            hours = rng.choice(24, size=count, p=hourly)
            t = start + hours * HOUR + rng.integers(0, HOUR, count)
            late = t >= now - MINUTE  # today: only what has come in so far
            if late.any():
                t[late] = rng.integers(start, max(start + 1, now - MINUTE), int(late.sum()))
            t = np.sort(t)
            created_parts.append(t)
            seq_parts.append(np.arange(first_seq, first_seq + count))
            day_parts.append(np.full(count, day_idx))
        created = np.concatenate(created_parts)
        n = len(created)
        ids = np.arange(first_id, first_id + n, dtype=np.int64)

        channel_i = _pick(rng, CHANNEL_P, n)
        type_i = _pick(rng, CASE_TYPE_P, n)
        cat = _pick(rng, ref.cat_weight, n)
        template = rng.integers(0, len(TEMPLATES), n)
        grid = rng.choice(len(ref.grid_id), size=n, p=ref.grid_weight)
        place = rng.integers(0, len(PLACES), n)
        point = ref.grid_points[grid, rng.integers(0, ref.grid_points.shape[1], n)]
        urgent = rng.random(n) < 0.04
        inspector = CHANNELS[channel_i] == Channel.INSPECTOR
        machine = np.isin(channel_i, [4, 5])
        web = CHANNELS[channel_i] == Channel.WEB
        created_by = np.where(inspector, ref.inspector or -1, np.where(machine, ref.system or -1, np.where(web, -1, ref.operator or -1)))

        # ---- lifecycle (µs timestamps; what lies after `now` has not happened yet)
        reg_t = created + _lognormal(rng, 25 * MINUTE, 0.9, n)
        rejected = rng.random(n) < P_REJECT
        answered = ~rejected & (CASE_TYPES[type_i] == "consult") & (rng.random(n) < P_ANSWER_CONSULT)
        flows = ~rejected & ~answered
        disp1_t = reg_t + _lognormal(rng, 35 * MINUTE, 1.0, n)
        returned = flows & (rng.random(n) < P_RETURN)
        ret_t = disp1_t + _lognormal(rng, 4 * HOUR, 0.8, n)
        redisp_t = ret_t + _lognormal(rng, 50 * MINUTE, 0.8, n)
        disp_t = np.where(returned, redisp_t, disp1_t)
        sign_t = disp_t + _lognormal(rng, 150 * MINUTE, 1.1, n)
        dept = ref.dept_of[cat, ref.street_index_of_grid[grid]]
        wrong = ref.dept_ids[rng.integers(0, len(ref.dept_ids), n)]
        wrong = np.where(wrong == dept, ref.dept_ids[(np.searchsorted(ref.dept_ids, wrong) + 1) % len(ref.dept_ids)], wrong)

        sign_val, sign_unit = ref.limits["sign"]
        handle_val, handle_unit = ref.limits["handle"]
        verify_val, verify_unit = ref.limits["verify"]
        handle_deadline = np.where(urgent, disp_t + 24 * HOUR, cal.deadline(disp_t, handle_val[cat], handle_unit[cat]))
        handle_unit_c = np.where(urgent, U_HOUR, handle_unit[cat])
        extension = flows & (rng.random(n) < P_EXTENSION)
        ext_req_t = sign_t + _lognormal(rng, 30 * HOUR, 0.6, n)
        ext_ok_t = ext_req_t + _lognormal(rng, 3 * HOUR, 0.7, n)
        ext_deadline = cal.deadline(np.maximum(handle_deadline, ext_ok_t), 2.0, U_WORK_DAY)
        resp_t = sign_t + _lognormal(rng, 38 * HOUR, 0.95, n)
        resp_t = np.where(extension, np.maximum(resp_t, ext_ok_t + _lognormal(rng, 20 * HOUR, 0.8, n)), resp_t)
        verify_t = resp_t + _lognormal(rng, 5 * HOUR, 0.8, n)
        callback = rng.random(n) < P_CALLBACK
        cb_t = verify_t + _lognormal(rng, 20 * HOUR, 0.7, n)
        sat_i = _pick(rng, SATISFACTION_P, n)

        r_reject = rejected & (reg_t <= now)
        r_answer = answered & (reg_t <= now)
        r_reg = flows & (reg_t <= now)
        r_disp1 = r_reg & (disp1_t <= now)
        r_ret = r_disp1 & returned & (ret_t <= now)
        r_redisp = r_ret & (redisp_t <= now)
        r_disp = np.where(returned, r_redisp, r_disp1)
        r_sign = r_disp & (sign_t <= now)
        r_ext_req = r_sign & extension & (ext_req_t <= now)
        r_ext_ok = r_ext_req & (ext_ok_t <= now)
        r_resp = r_sign & (resp_t <= now) & (~r_ext_req | r_ext_ok)
        r_verify = r_resp & (verify_t <= now)
        r_cb = r_verify & callback & (cb_t <= now)

        S = {s: i for i, s in enumerate(STATUSES)}
        status = np.full(n, S[Status.NEW], dtype=np.int64)
        status[r_reg] = S[Status.REGISTERED]
        status[r_disp1] = S[Status.DISPATCHED]
        status[r_ret & ~r_redisp] = S[Status.RETURNED]
        status[r_redisp] = S[Status.DISPATCHED]
        status[r_sign] = S[Status.IN_PROGRESS]
        status[r_resp] = S[Status.RESPONDED]
        status[r_verify | r_answer] = S[Status.CLOSED]
        status[r_reject] = S[Status.REJECTED]
        waiting_return = status == S[Status.RETURNED]

        # ---- SLA fields of the current stage
        stage = np.zeros(n, dtype=np.int64)
        stage_start = np.full(n, -1, dtype=np.int64)
        stage_unit = np.zeros(n, dtype=np.int64)
        deadline = np.full(n, -1, dtype=np.int64)

        def set_stage(mask, code, start, unit_codes, dl):
            stage[mask] = code
            stage_start[mask] = start[mask]
            stage_unit[mask] = unit_codes[mask] if isinstance(unit_codes, np.ndarray) else unit_codes
            deadline[mask] = dl[mask]

        set_stage(status == S[Status.NEW], 1, created, U_WORK_HOUR, cal.deadline(created, 1.0, U_WORK_HOUR))
        w_start = np.where(waiting_return, ret_t, reg_t)
        set_stage((status == S[Status.REGISTERED]) | waiting_return, 2, w_start, U_WORK_HOUR, cal.deadline(w_start, 1.0, U_WORK_HOUR))
        set_stage(status == S[Status.DISPATCHED], 3, disp_t, sign_unit[cat], cal.deadline(disp_t, sign_val[cat], sign_unit[cat]))
        handling = status == S[Status.IN_PROGRESS]
        final_handle = np.where(r_ext_ok, ext_deadline, handle_deadline)
        set_stage(handling, 4, disp_t, handle_unit_c, final_handle)
        set_stage(status == S[Status.RESPONDED], 5, resp_t, verify_unit[cat], cal.deadline(resp_t, verify_val[cat], verify_unit[cat]))
        pending = handling & r_ext_req & ~r_ext_ok
        has_clock = deadline >= 0
        warn = np.where(has_clock, stage_start + ((deadline - stage_start) * 0.8).astype(np.int64), -1)
        clock_now = now  # a pending extension request does not stop the clock (cases/sla.py extend_fields)
        sla = np.where(has_clock, 1, 0)
        sla[has_clock & (warn <= clock_now)] = 2
        sla[has_clock & (deadline <= clock_now)] = 3
        remaining = np.full(n, np.nan)
        open_dispatched = r_disp & (status != S[Status.CLOSED]) & (status != S[Status.REJECTED]) & ~waiting_return
        hd = np.where(open_dispatched, final_handle, -1)
        hd_unit = np.where(open_dispatched, handle_unit_c, 0)
        closed_at = np.where(r_verify, verify_t, np.where(r_answer | r_reject, reg_t, -1))
        department = np.where(r_disp & ~waiting_return, dept, -1)

        # ---- events: (case, time, kind, actor, department, payload code)
        parts: list[tuple] = []
        handler = self.dept_user[dept]

        def add(mask, t, kind, actor, dept_ids, payload):
            idx = np.flatnonzero(mask)
            if len(idx) == 0:
                return

            def pick(v):
                return v[idx] if isinstance(v, np.ndarray) else np.full(len(idx), v, dtype=np.int64)

            parts.append((ids[idx], t[idx], np.full(len(idx), kind, dtype=np.int64), pick(actor), pick(dept_ids), pick(payload)))

        ev_dept_payload = pl.dept_index
        add(np.ones(n, dtype=bool), created, K_CREATE, created_by, -1, pl.channel[channel_i])
        add(r_reject, reg_t, K_REJECT, ref.operator or -1, -1, 0)
        add(r_answer, reg_t, K_ANSWER, ref.operator or -1, -1, 0)
        add(r_reg, reg_t, K_REGISTER, ref.operator or -1, -1, pl.category[cat])
        first = np.where(returned, wrong, dept)
        add(r_disp1, disp1_t, K_DISPATCH, ref.dispatcher or -1, first, pl.dispatch[ev_dept_payload[first]])
        add(r_ret, ret_t, K_RETURN, self.dept_user[wrong], wrong, pl.returned[ev_dept_payload[wrong]])
        add(r_redisp, redisp_t, K_REDISPATCH, ref.dispatcher or -1, dept, pl.dispatch[ev_dept_payload[dept]])
        add(r_sign, sign_t, K_SIGN, handler, dept, 0)
        add(r_ext_req, ext_req_t, K_EXT_REQ, handler, dept, pl.extension)
        add(r_ext_ok, ext_ok_t, K_EXT_OK, ref.dispatcher or -1, dept, pl.extension)
        add(r_resp, resp_t, K_RESPOND, handler, dept, 0)
        add(r_verify, verify_t, K_VERIFY, ref.dispatcher or -1, dept, pl.verify)
        add(r_cb, cb_t, K_CALLBACK, ref.operator or -1, -1, pl.satisfaction[sat_i])
        cols = [np.concatenate(c) for c in zip(*parts, strict=True)]
        events = dict(zip(("case", "t", "kind", "actor", "dept", "payload"), cols, strict=True))
        n_events = len(events["case"])
        events["id"] = np.arange(first_event_id, first_event_id + n_events, dtype=np.int64)
        row_of = events["case"] - first_id
        transitions = np.bincount(row_of, minlength=n) - 1
        last_t = created.copy()
        np.maximum.at(last_t, row_of, events["t"])

        cases = {
            "id": ids, "day": np.concatenate(day_parts), "seq": np.concatenate(seq_parts), "channel": channel_i, "case_type": type_i,
            "urgent": urgent, "cat": cat, "template": template, "grid": grid, "place": place, "lon": point[:, 0], "lat": point[:, 1],
            "reporter": ~inspector & ~machine, "status": status, "stage": stage, "stage_started_at": stage_start,
            "stage_unit": stage_unit, "deadline": deadline, "warn_at": warn, "clock_paused_at": np.full(n, -1, dtype=np.int64),
            "clock_remaining": remaining, "sla_level": sla, "handle_deadline": hd, "handle_unit": hd_unit, "pending": pending,
            "return_count": r_ret.astype(np.int64), "result": r_resp, "answer": r_answer, "satisfaction": np.where(r_cb, sat_i + 1, 0),
            "created_at": created, "registered_at": np.where(r_reg, reg_t, -1), "dispatched_at": np.where(r_disp, disp_t, -1),
            "responded_at": np.where(r_resp, resp_t, -1), "closed_at": closed_at, "updated_at": last_t,
            "version": 1 + transitions, "created_by": created_by, "department": department,
        }
        counters = {cal.first + timedelta(days=d): first_seq + count - 1 for d, count, first_seq in day_counts if count > 0}
        return Chunk(n_cases=n, n_events=n_events, cases=cases, events=events, counters=counters)


# ---------------------------------------------------------------- binary COPY of a chunk

CASE_COLUMNS = [
    "id", "number", "tracking_code", "channel", "created_by_id", "case_type", "urgency",
    "category_id", "title", "description", "lon", "lat", "grid_id", "community_id", "street_id", "address",
    "reporter_name", "reporter_phone",
    "status", "stage", "stage_unit", "sla_level", "handle_unit", "extension_pending", "extension_request",
    "return_count", "result", "answer", "satisfaction", "department_id",
    "external_id", "coord_source", "supervised", "urge_count", "rework_count", "master_id",
    "stage_started_at", "deadline", "warn_at", "clock_paused_at", "handle_deadline", "created_at",
    "registered_at", "dispatched_at", "responded_at", "closed_at", "updated_at", "clock_remaining", "version",
]
EVENT_COLUMNS = ["id", "created_at", "case_id", "actor_label", "action", "from_status", "to_status", "note", "payload", "actor_id", "department_id"]
HEX = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)


def case_numbers(cal: Calendar, days: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """CD<yyyymmdd>-<nnnn> as a NumPy bytes array (the format of `services.next_case_number`)."""
    unique_days = np.unique(days)
    prefixes = np.array([(cal.first + timedelta(days=int(d))).strftime("CD%Y%m%d-").encode() for d in unique_days])
    return np.char.add(prefixes[np.searchsorted(unique_days, days)], np.char.zfill(seq.astype("S12"), 4))


def tracking_codes(ids: np.ndarray) -> list[str]:
    """Seeded cases' tracking codes: "S" + 11 hex digits of the id (real ones are 10 hex digits)."""
    return [f"S{i:011X}" for i in ids.tolist()]


class CaseEncoder:
    """Encodes chunks of generated cases and events as binary COPY data."""

    def __init__(self, ref: Reference, cal: Calendar, payloads: Payloads) -> None:
        from cityops.ops import pgbinary as pb

        self.ref, self.cal, self.payloads, self.pb = ref, cal, payloads, pb
        self.channel_entries = [pb.text(str(c)) for c in CHANNELS]
        self.type_entries = [pb.text(str(t)) for t in CASE_TYPES]
        self.urgency_entries = [pb.text("normal"), pb.text("urgent")]
        self.cat_entries = [
            pb.int8(int(ref.cat_id[c])) + pb.text(str(ref.cat_titles[c])) + pb.text(str(ref.descriptions[c * len(TEMPLATES) + t]))
            for c in range(len(ref.cat_id)) for t in range(len(TEMPLATES))
        ]
        self.location_entries = [
            pb.int8(int(ref.grid_id[g])) + pb.int8(int(ref.grid_community[g]) or -1) + pb.int8(int(ref.grid_street[g]) or -1)
            + pb.text(str(ref.addresses[ref.grid_address_base[g] + p]))
            for g in range(len(ref.grid_id)) for p in range(len(PLACES))
        ]
        self.location_table = self._table(self.location_entries)
        self.names = [s + g for s in SURNAMES for g in GIVEN]
        self.name_entries = [pb.text("")] + [pb.text(name) for name in self.names]
        self.constant = pb.text("") + pb.text("wgs84") + pb.boolean(False) + pb.int4(0) + pb.int4(0) + pb.int8(None)
        self._tails: dict[tuple[int, int, int], dict[int, bytes]] = {}
        self.user_label = np.full(max(ref.user_label, default=0) + 2, "", dtype=object)
        for uid, label in ref.user_label.items():
            self.user_label[uid] = label

    @staticmethod
    def _table(entries: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
        widths = np.array([len(e) for e in entries], dtype=np.int64)
        table = np.zeros((len(entries), int(widths.max())), dtype=np.uint8)
        for i, e in enumerate(entries):
            table[i, : len(e)] = np.frombuffer(e, dtype=np.uint8)
        return table, widths

    def cases(self, chunk: Chunk, rng: np.random.Generator) -> list[bytes]:
        pb, c, n = self.pb, chunk.cases, chunk.n_cases
        enc = pb.RowEncoder(n)
        enc.int8(c["id"])
        enc.strings(case_numbers(self.cal, c["day"], c["seq"]))
        tracking = np.empty((n, 16), dtype=np.uint8)
        tracking[:, :4] = np.frombuffer(b"\x00\x00\x00\x0c", dtype=np.uint8)
        tracking[:, 4] = ord("S")
        for k in range(11):
            tracking[:, 5 + k] = HEX[(c["id"] >> (4 * (10 - k))) & 15]
        enc.raw(tracking, 16, 1)
        enc.lookup(c["channel"], self.channel_entries, 1)
        enc.int8(c["created_by"], nullable=True)
        enc.lookup(c["case_type"], self.type_entries, 1)
        enc.lookup(c["urgent"].astype(np.int64), self.urgency_entries, 1)
        enc.lookup(c["cat"] * len(TEMPLATES) + c["template"], self.cat_entries, 3)
        enc.fixed(c["lon"], ">f8")
        enc.fixed(c["lat"], ">f8")
        table, widths = self.location_table
        code = c["grid"] * len(PLACES) + c["place"]
        enc.raw(table[code], widths[code], 4)
        names = np.where(c["reporter"], rng.integers(1, len(self.name_entries), n), 0)
        enc.lookup(names, self.name_entries, 1)
        phone = np.empty((n, 15), dtype=np.uint8)
        phone[:, :4] = np.frombuffer(b"\x00\x00\x00\x0b", dtype=np.uint8)
        phone[:, 4] = ord("1")
        phone[:, 5] = np.frombuffer(b"35789", dtype=np.uint8)[rng.integers(0, 5, n)]
        phone[:, 6:] = rng.integers(48, 58, (n, 9), dtype=np.uint8)
        phone[~c["reporter"], :4] = 0
        enc.raw(phone, np.where(c["reporter"], 15, 4), 1)
        # The status block: one entry per distinct combination in this chunk.
        parts = [c["status"], c["stage"], c["stage_unit"], c["sla_level"], c["handle_unit"], c["pending"].astype(np.int64),
                 c["return_count"], c["result"].astype(np.int64), c["answer"].astype(np.int64), c["satisfaction"], c["department"] + 1]
        radix = [len(STATUSES), len(STAGES), len(UNITS), len(SLA), len(UNITS), 2, 2, 2, 2, len(SAT), int(c["department"].max()) + 2]
        key = np.zeros(n, dtype=np.int64)
        for part, r in zip(parts, radix, strict=True):
            key = key * r + part
        uniq, inverse = np.unique(key, return_inverse=True)
        entries = []
        for k in uniq.tolist():
            values = []
            for r in reversed(radix):
                values.append(k % r)
                k //= r
            st, sg, su, sl, hu, pend, ret, res, ans, sat, dep = reversed(values)
            entries.append(
                pb.text(STATUSES[st]) + pb.text(STAGES[sg]) + pb.text(UNITS[su]) + pb.text(SLA[sl]) + pb.text(UNITS[hu])
                + pb.boolean(bool(pend)) + pb.jsonb(EXTENSION_REQUEST if pend else None) + pb.int4(ret)
                + pb.text(RESULT_TEXT if res else "") + pb.text(ANSWER_TEXT if ans else "") + pb.text(SAT[sat])
                + pb.int8(dep - 1) + self.constant
            )
        enc.lookup(inverse.reshape(-1), entries, 18)
        for name in ("stage_started_at", "deadline", "warn_at", "clock_paused_at", "handle_deadline", "created_at",
                     "registered_at", "dispatched_at", "responded_at", "closed_at", "updated_at"):
            enc.timestamp(c[name])
        enc.fixed(np.nan_to_num(c["clock_remaining"]), ">f8", np.isnan(c["clock_remaining"]))
        enc.fixed(c["version"], ">i4")
        assert enc.nfields == len(CASE_COLUMNS), enc.nfields
        return [pb.SIGNATURE, *enc.encode(), pb.TRAILER]

    def events(self, chunk: Chunk) -> list[bytes]:
        pb, e, pl = self.pb, chunk.events, self.payloads
        actor, dept, kind, payload = e["actor"], e["dept"], e["kind"], e["payload"]
        u = int(actor.max()) + 2
        d = int(dept.max()) + 2
        p = len(pl.json)
        key = ((kind * u + actor + 1) * d + dept + 1) * p + payload
        tails = self._tails.setdefault((u, d, p), {})
        for k in np.unique(key).tolist():
            if k in tails:
                continue
            rest, pay = divmod(k, p)
            rest, dep = divmod(rest, d)
            knd, act = divmod(rest, u)
            act, dep = act - 1, dep - 1
            action, frm, to, note = KINDS[knd]
            label = pl.label[pay] if (knd == K_CREATE and act < 0) else (str(self.user_label[act]) if act >= 0 else "")
            tails[k] = (
                pb.text(label) + pb.text(str(action)) + pb.text(str(frm)) + pb.text(str(to)) + pb.text(note)
                + pb.jsonb(pl.json[pay]) + pb.int8(act) + pb.int8(dep)
            )
        body = pb.group_encode(key, [(e["id"], ">i8"), (e["t"] - pb.PG_EPOCH_US, ">i8"), (e["case"], ">i8")], tails, len(EVENT_COLUMNS))
        return [pb.SIGNATURE, *body, pb.TRAILER]


# ---------------------------------------------------------------- the run


@dataclass
class SeedResult:
    cases: int = 0
    events: int = 0
    seconds: float = 0.0
    generate_seconds: float = 0.0
    index_seconds: float = 0.0
    indexes_rebuilt: int = 0
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def cases_per_s(self) -> float:
        return self.cases / self.seconds if self.seconds else 0.0


def _day_counts(cal: Calendar, total: int, days: int, today_idx: int, now_local_hour: float, rng: np.random.Generator) -> np.ndarray:
    idx = np.arange(today_idx - days + 1, today_idx + 1)
    w = WEEKDAY[cal.weekday[idx]] * np.where(cal.holiday[idx], HOLIDAY_FACTOR, 1.0)
    w = w * np.linspace(0.92, 1.08, len(idx)) * rng.uniform(0.92, 1.08, len(idx))
    hourly = HOURLY / HOURLY.sum()
    w[-1] *= hourly[: max(1, int(now_local_hour))].sum()  # today so far
    return rng.multinomial(total, w / w.sum())


def _allocate_ids(model, count: int) -> int:
    """Reserve `count` consecutive ids of the model's sequence; returns the first."""
    table = model._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        seq = cursor.fetchone()[0]
        cursor.execute(f"SELECT GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), (SELECT last_value FROM {seq}))")
        start = int(cursor.fetchone()[0]) + 1
        cursor.execute("SELECT setval(%s, %s)", [seq, start + count - 1])
    return start


def _secondary_indexes(table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the table's indexes that back no constraint."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT i.indexname, i.indexdef FROM pg_indexes i
               WHERE i.tablename = %s AND i.schemaname = current_schema()
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""",
            [table],
        )
        return list(cursor.fetchall())


def _table_rows(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
        row = cursor.fetchone()
    return max(0, int(row[0])) if row else 0


def _is_superuser() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
    return bool(row and row[0])


def seed(
    *, cases: int, days: int, seed: int = 20261126, chunk: int = 100_000, indexes: str = "auto",
    progress: Callable[[str], None] | None = None, now: datetime | None = None,
) -> SeedResult:
    """Write `cases` generated cases (and their events) spread over the last `days` days."""
    say = progress or (lambda _msg: None)
    rng = np.random.default_rng(seed)
    now_dt = now or timezone.now()
    now_us = int(now_dt.timestamp() * US)
    t0 = time.perf_counter()
    ref = load_reference(rng)
    today = timezone.localtime(now_dt).date()
    cal = Calendar(today - timedelta(days=days + 7), today + timedelta(days=400))
    today_idx = (today - cal.first).days
    local = timezone.localtime(now_dt)
    counts = _day_counts(cal, cases, days, today_idx, local.hour + local.minute / 60, rng)
    day_idx = np.arange(today_idx - days + 1, today_idx + 1)
    existing = dict(CaseNumberCounter.objects.filter(day__gte=cal.first).values_list("day", "last"))
    generator = Generator(ref, cal, now_us, rng)
    say(f"参考数据：{len(ref.grid_id)} 个网格，{len(ref.cat_id)} 个分类，{len(ref.dept_ids)} 个部门（{time.perf_counter() - t0:.1f} 秒）")

    result = SeedResult()
    postgres = connection.vendor == "postgresql"
    rebuilt: list[tuple[str, str]] = []
    if postgres:
        tables = [Case._meta.db_table, CaseEvent._meta.db_table]
        if indexes == "rebuild" or (indexes == "auto" and cases >= max(50_000, _table_rows(tables[0]))):
            with connection.cursor() as cursor:
                for table in tables:
                    for name, definition in _secondary_indexes(table):
                        cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
                        rebuilt.append((name, definition))
            say(f"批量写入：暂时删除 {len(rebuilt)} 个二级索引，写完后重建")
        case_start = _allocate_ids(Case, cases)
        # About six events per case; reserve generously, the sequence only moves forward.
        event_capacity = cases * 12 + 100
        event_start = _allocate_ids(CaseEvent, event_capacity)
    else:
        from django.db.models import Max

        case_start = (Case.objects.aggregate(m=Max("id"))["m"] or 0) + 1  # placeholder ids (tracking codes)
        event_start = 0

    # Group days into chunks of about `chunk` cases.
    plan: list[list[tuple[int, int, int]]] = [[]]
    size = 0
    for d, c in zip(day_idx.tolist(), counts.tolist(), strict=True):
        while c > 0:
            take = min(c, max(1, chunk - size))
            key = cal.first + timedelta(days=d)
            first_seq = existing.get(key, 0) + 1
            existing[key] = existing.get(key, 0) + take
            plan[-1].append((d, take, first_seq))
            size += take
            c -= take
            if size >= chunk:
                plan.append([])
                size = 0
    plan = [p for p in plan if p]

    writer = _PostgresWriter() if postgres else None
    encoder = CaseEncoder(ref, cal, generator.payloads) if postgres else None
    next_case, next_event = case_start, event_start
    try:
        pending: list[Future] = []
        for i, days_in_chunk in enumerate(plan):
            g0 = time.perf_counter()
            part = generator.cases_for_days(days_in_chunk, next_case, next_event)
            next_case += part.n_cases
            next_event += part.n_events
            if postgres and next_event - event_start > event_capacity:
                raise RuntimeError("event id reservation exhausted")
            for code, k in zip(*np.unique(part.cases["status"], return_counts=True), strict=True):
                result.statuses[STATUSES[int(code)]] = result.statuses.get(STATUSES[int(code)], 0) + int(k)
            if writer is not None:
                case_data = encoder.cases(part, rng)
                event_data = encoder.events(part)
                result.generate_seconds += time.perf_counter() - g0
                for f in pending:
                    f.result()
                pending = writer.submit(case_data, event_data)
            else:
                _bulk_create(part, ref, cal, generator.payloads)
                result.generate_seconds += time.perf_counter() - g0
            _bump_counters(part.counters)
            result.cases += part.n_cases
            result.events += part.n_events
            elapsed = time.perf_counter() - t0
            say(f"  {result.cases:>10,} 件案件，{result.events:>11,} 条日志 · {result.cases / elapsed:,.0f} 件/秒 (块 {i + 1}/{len(plan)})")
        for f in pending:
            f.result()
    finally:
        if writer is not None:
            writer.close()
        if rebuilt:
            i0 = time.perf_counter()
            say(f"重建 {len(rebuilt)} 个索引 …")
            with connection.cursor() as cursor:
                cursor.execute("SET maintenance_work_mem = '1GB'")
                cursor.execute("SET max_parallel_maintenance_workers = 2")
                for _name, definition in rebuilt:
                    cursor.execute(definition)
            result.index_seconds = time.perf_counter() - i0
            result.indexes_rebuilt = len(rebuilt)
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Case._meta.db_table}")
            cursor.execute(f"ANALYZE {CaseEvent._meta.db_table}")
    result.seconds = time.perf_counter() - t0
    return result


def _bump_counters(counters: dict[date, int]) -> None:
    for day, last in counters.items():
        if not CaseNumberCounter.objects.filter(day=day, last__lt=last).update(last=last):
            CaseNumberCounter.objects.get_or_create(day=day, defaults={"last": last})


class _PostgresWriter:
    """Binary COPY on two extra connections (cases, events) in background threads, so
    PostgreSQL ingests one chunk while NumPy generates the next."""

    def __init__(self) -> None:
        import psycopg

        params = connection.get_connection_params()
        for key in ("cursor_factory", "context", "server_side_binding", "prepare_threshold"):
            params.pop(key, None)
        self._conns = [psycopg.connect(**params) for _ in range(2)]
        skip_fk = _is_superuser()
        for conn in self._conns:
            with conn.cursor() as cur:
                cur.execute("SET synchronous_commit = off")
                if skip_fk:
                    cur.execute("SET session_replication_role = replica")
            conn.commit()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="cityops-seed")

    @staticmethod
    def _copy(conn, table: str, columns: list[str], data: list[bytes]) -> None:
        with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
            for block in data:
                copy.write(block)
        conn.commit()

    def submit(self, case_data: list[bytes], event_data: list[bytes]) -> list[Future]:
        return [
            self._pool.submit(self._copy, self._conns[0], Case._meta.db_table, CASE_COLUMNS, case_data),
            self._pool.submit(self._copy, self._conns[1], CaseEvent._meta.db_table, EVENT_COLUMNS, event_data),
        ]

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        for conn in self._conns:
            conn.close()


def _bulk_create(part: Chunk, ref: Reference, cal: Calendar, payloads: Payloads) -> None:
    """The portable path (SQLite, a district's volumes): the same rows through bulk_create."""
    from datetime import UTC

    def ts(v) -> datetime | None:
        v = int(v)
        return datetime.fromtimestamp(v / US, tz=UTC) if v >= 0 else None

    c, n = part.cases, part.n_cases
    numbers = [b.decode() for b in case_numbers(cal, c["day"], c["seq"]).tolist()]
    codes = tracking_codes(c["id"])
    rng = np.random.default_rng(int(c["id"][0]) if n else 0)
    names = [s + g for s in SURNAMES for g in GIVEN]
    objs = []
    for i in range(n):
        cat, grid = int(c["cat"][i]), int(c["grid"][i])
        reporter = bool(c["reporter"][i])
        objs.append(Case(
            number=numbers[i], tracking_code=codes[i], channel=str(CHANNELS[c["channel"][i]]), case_type=str(CASE_TYPES[c["case_type"][i]]),
            urgency="urgent" if c["urgent"][i] else "normal", category_id=int(ref.cat_id[cat]), title=str(ref.cat_titles[cat]),
            description=str(ref.descriptions[cat * len(TEMPLATES) + int(c["template"][i])]),
            lon=float(c["lon"][i]), lat=float(c["lat"][i]), grid_id=int(ref.grid_id[grid]),
            community_id=int(ref.grid_community[grid]) or None, street_id=int(ref.grid_street[grid]) or None,
            address=str(ref.addresses[ref.grid_address_base[grid] + int(c["place"][i])]),
            reporter_name=names[int(rng.integers(0, len(names)))] if reporter else "",
            reporter_phone=f"13{int(rng.integers(0, 10**9)):09d}" if reporter else "",
            status=STATUSES[int(c["status"][i])], stage=STAGES[int(c["stage"][i])], stage_unit=UNITS[int(c["stage_unit"][i])],
            sla_level=SLA[int(c["sla_level"][i])], handle_unit=UNITS[int(c["handle_unit"][i])],
            extension_pending=bool(c["pending"][i]), extension_request=json.loads(EXTENSION_REQUEST) if c["pending"][i] else None,
            return_count=int(c["return_count"][i]), result=RESULT_TEXT if c["result"][i] else "", answer=ANSWER_TEXT if c["answer"][i] else "",
            satisfaction=SAT[int(c["satisfaction"][i])], department_id=int(c["department"][i]) if c["department"][i] >= 0 else None,
            created_by_id=int(c["created_by"][i]) if c["created_by"][i] >= 0 else None,
            stage_started_at=ts(c["stage_started_at"][i]), deadline=ts(c["deadline"][i]), warn_at=ts(c["warn_at"][i]),
            clock_paused_at=ts(c["clock_paused_at"][i]), handle_deadline=ts(c["handle_deadline"][i]), created_at=ts(c["created_at"][i]),
            registered_at=ts(c["registered_at"][i]), dispatched_at=ts(c["dispatched_at"][i]), responded_at=ts(c["responded_at"][i]),
            closed_at=ts(c["closed_at"][i]), clock_remaining=None if math.isnan(c["clock_remaining"][i]) else float(c["clock_remaining"][i]),
            version=int(c["version"][i]),
        ))
    e = part.events
    user_label = ref.user_label
    with transaction.atomic():
        created = Case.objects.bulk_create(objs, batch_size=1000)
        pk_of = {int(c["id"][i]): created[i].pk for i in range(n)}
        events = []
        for j in range(part.n_events):
            kind, actor, dept, pay = int(e["kind"][j]), int(e["actor"][j]), int(e["dept"][j]), int(e["payload"][j])
            action, frm, to, note = KINDS[kind]
            label = payloads.label[pay] if (kind == K_CREATE and actor < 0) else user_label.get(actor, "")
            events.append(CaseEvent(
                case_id=pk_of[int(e["case"][j])], created_at=ts(e["t"][j]), actor_label=label, action=str(action),
                from_status=str(frm), to_status=str(to), note=note, payload=json.loads(payloads.json[pay]),
                actor_id=actor if actor >= 0 else None, department_id=dept if dept >= 0 else None,
            ))
        CaseEvent.objects.bulk_create(events, batch_size=2000)
    # Updated_at is auto_now: bulk_create set it to now; keep the seeded history's times.
