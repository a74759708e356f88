"""Demo cases: a few weeks of a district's work, created through the real services so every
case has its events, deadlines and notifications. Idempotent: skipped when demo cases exist."""

from __future__ import annotations

import io
import random
from datetime import datetime, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image
from shapely.geometry import Point, shape

from cityops.accounts.models import User
from cityops.cases.models import Case, Channel
from cityops.cases.services import CaseInput, case_create
from cityops.cases.states import Action
from cityops.cases.workflow import after_photo_required, case_transition
from cityops.catalog.models import CaseType, Category
from cityops.catalog.selectors import responsible_department
from cityops.geo.models import UnitGrid

DEMO_PREFIX = "DEMO-"

# (category code, case type, description, address hint)
SCENARIOS = [
    ("E0102", CaseType.COMPLAINT, "小区东门外垃圾堆放两天没人清运，气味很大，苍蝇很多。", "小区东门"),
    ("E0104", CaseType.COMPLAINT, "人行道上落叶和泥土很多，下雨后非常湿滑。", "人行道"),
    ("E0101", CaseType.REPORT, "一楼住户在院内私自搭建彩钢房，占用公共通道。", "居民院内"),
    ("E0501", CaseType.COMPLAINT, "路口有流动摊贩占道经营，早晚高峰堵塞交通。", "十字路口"),
    ("E0505", CaseType.COMPLAINT, "机动车长期停放在消防通道上，多次劝离无效。", "小区消防通道"),
    ("E0201", CaseType.COMPLAINT, "单元门和电线杆上贴满小广告，影响市容。", "单元楼门口"),
    ("E0301", CaseType.COMPLAINT, "工地夜间施工到凌晨，噪音严重影响休息。", "在建工地"),
    ("E0302", CaseType.COMPLAINT, "工地出入口没有冲洗设施，渣土车带泥上路扬尘大。", "工地出入口"),
    ("E0404", CaseType.HELP, "下水道堵塞，污水漫到路面上。", "小区主干道"),
    ("E0406", CaseType.HELP, "路面积水很深，行人无法通过。", "道路低洼处"),
    ("P0101", CaseType.HELP, "上水井盖破损缺失一角，晚上容易绊倒行人。", "人行道井盖"),
    ("P0118", CaseType.HELP, "路灯一排都不亮，晚上回家很黑。", "街道路灯"),
    ("P0211", CaseType.SUGGEST, "公交站旁的交通护栏被撞倒，建议尽快修复。", "公交站旁"),
    ("E0507", CaseType.COMPLAINT, "商户在门口乱堆纸箱杂物，占用人行道。", "沿街商铺"),
    ("E0508", CaseType.COMPLAINT, "广场舞音响声音太大，晚上十点还没停。", "广场"),
]
REPORTERS = [("张伟", "13897001234"), ("王秀英", "13909712345"), ("李娜", "18997123456"), ("刘洋", "15109712233"), ("", "")]


def _random_point(rng: random.Random, grid: UnitGrid) -> tuple[float, float]:
    polygon = shape(grid.boundary)
    minx, miny, maxx, maxy = polygon.bounds
    for _ in range(30):
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if polygon.contains(p):
            return p.x, p.y
    p = polygon.representative_point()
    return p.x, p.y


def _user(username: str) -> User | None:
    return User.objects.filter(username=username).first()


def _department_user(department) -> User | None:
    return User.objects.filter(username=f"dept-{department.code}").first() if department else None


@transaction.atomic
def demo_cases_ensure(count: int = 60, seed: int = 20261126) -> int:
    """Create `count` demo cases spread over the last 14 days in every state; returns how many were made."""
    if Case.objects.filter(external_id__startswith=DEMO_PREFIX).exists():
        return 0
    operator, dispatcher, inspector = _user("operator"), _user("dispatcher"), _user("inspector")
    if not (operator and dispatcher and inspector):
        return 0
    grids = list(UnitGrid.objects.select_related("street", "community").order_by("code"))
    if not grids:
        return 0
    rng = random.Random(seed)
    categories = {c.code: c for c in Category.objects.filter(code__in=[s[0] for s in SCENARIOS])}
    scenarios = [s for s in SCENARIOS if s[0] in categories]
    inspector_grids = list(inspector.grids.all())
    now = timezone.now()
    made = 0
    for i in range(count):
        code, case_type, text, place = rng.choice(scenarios)
        on_patrol = i % 4 == 0 and inspector_grids
        grid = rng.choice(inspector_grids if on_patrol else grids)
        lon, lat = _random_point(rng, grid)
        name, phone = rng.choice(REPORTERS)
        created = now - timedelta(days=rng.uniform(0, 14), minutes=rng.randint(0, 600))
        case = case_create(
            data=CaseInput(
                description=text, channel=Channel.INSPECTOR if on_patrol else rng.choice([Channel.HOTLINE, Channel.CITY_PLATFORM, Channel.WEB]),
                case_type=case_type, lon=lon, lat=lat, address=f"{grid.community.name}{place}",
                category=code, reporter_name="" if on_patrol else name, reporter_phone="" if on_patrol else phone,
                external_id=f"{DEMO_PREFIX}{i:04d}",
            ),
            actor=inspector if on_patrol else operator,
            now=created,
        )
        _advance(case, rng, created, now, operator, dispatcher, inspector)
        made += 1
    return made


def _after_photo(rng: random.Random) -> SimpleUploadedFile:
    """A plain synthetic picture standing in for the department's 处置后照片."""
    buffer = io.BytesIO()
    Image.new("RGB", (160, 120), tuple(rng.randint(90, 200) for _ in range(3))).save(buffer, format="JPEG", quality=80)
    return SimpleUploadedFile("after.jpg", buffer.getvalue(), content_type="image/jpeg")


def _advance(case: Case, rng: random.Random, created: datetime, now: datetime, operator, dispatcher, inspector) -> None:
    """Walk a case part of the way (or all the way) through the workflow, with realistic gaps."""
    age_hours = (now - created).total_seconds() / 3600
    depth = rng.random() * min(1.0, age_hours / 72)

    def step(hours: float) -> datetime:
        nonlocal created
        created = min(now, created + timedelta(hours=hours))
        return created

    if depth < 0.08:
        return  # still waiting for the operator
    if depth < 0.12:
        case_transition(case=case, action=Action.REJECT, actor=operator, data={"note": "重复反映，已告知处理进展"}, now=step(0.5))
        return
    case = case_transition(case=case, action=Action.REGISTER, actor=operator, now=step(rng.uniform(0.1, 1.2)))
    if depth < 0.2:
        return
    assignment = responsible_department(case.category, case.street, timezone.localdate(created))
    case = case_transition(case=case, action=Action.DISPATCH, actor=dispatcher,
                           data={"department": assignment.lead.code, "rule": assignment.reason}, now=step(rng.uniform(0.2, 2)))
    handler = _department_user(case.department)
    if depth < 0.3 or handler is None:
        return
    case = case_transition(case=case, action=Action.SIGN, actor=handler, now=step(rng.uniform(0.5, 6)))
    if depth < 0.45:
        return
    if rng.random() < 0.12:
        case_transition(case=case, action=Action.REQUEST_EXTENSION, actor=handler,
                        data={"value": "2", "unit": "work_day", "note": "需协调产权单位共同处置"}, now=step(4))
        return
    photos = [_after_photo(rng)] if after_photo_required(case) else []  # 部件 and inspectors' reports
    case = case_transition(case=case, action=Action.RESPOND, actor=handler, data={"result": "已安排人员现场处置完毕。", "photos": photos},
                           now=step(rng.uniform(2, 30)))
    if depth < 0.6:
        return
    passed = rng.random() > 0.1
    case = case_transition(case=case, action=Action.VERIFY, actor=dispatcher,
                           data={"passed": passed, "note": "" if passed else "现场仍有残留，需返工"}, now=step(rng.uniform(1, 8)))
    if not passed or depth < 0.7 or case.callback_status != "pending":  # no phone: nobody to call back
        return
    satisfaction = rng.choices(["satisfied", "basically_satisfied", "unsatisfied"], weights=[80, 15, 5])[0]
    case_transition(case=case, action=Action.CALLBACK, actor=operator, data={"satisfaction": satisfaction}, now=step(rng.uniform(2, 20)))
