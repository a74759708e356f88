"""The demo's living history: about 60 dispatched cases a day over the last 90 days.

`cityops demo` loads it so a fresh installation shows a district at work — dashboards, big
screen, assessment, targets and reports with real figures — and so the first routing model can
be trained on a dispatch history, as a deployment trains on its own.

Every case is **synthetic**: its `external_id` starts with `HISTORY_PREFIX` ("HIST-") and its
create event's payload carries `"synthetic": true`. Cases and their events go in with
`bulk_create` (no workflow calls, no per-event fan-out: a few seconds for ~5,400 cases); the
analytics rollups are rebuilt once afterwards (`rebuild_derived`).

What is generated, per case (shares are of dispatched cases; see the constants below):

* created on the working calendar (workdays busier than weekends and holidays, a daily
  profile with morning and afternoon peaks), through a realistic channel mix that depends on
  the category (inspectors report 部件/事件, the 12345 platform and hotline everything);
* a leaf category (小类) from `CATEGORIES` with a long-tailed mix, a location inside a demo
  grid (street, community, grid) and a description varied per 小类: channel opener × phrasing
  template × place × object × problem × severity;
* the events each step writes — create, register, dispatch, (return → accept → re-dispatch),
  sign, (extension request → approval), respond, verify (a few fail → rework), the callback
  outcome — with consistent timestamps; recent cases are still open in every state;
* the handling deadline from the category's time limits on the working calendar (an approved
  extension moves it); a late response gets its `sla_overdue` event;
* the issue-12 result fields (docs/assessment.md): a closed case needing a callback gets a
  result from the citizen's own rating (`rate`) or the first completed callback (`callback`),
  or becomes unreachable after `CITYOPS_CALLBACK_MAX_ATTEMPTS` failed attempts; inspector and
  machine reports and reporters who asked not to be called need none; an unsatisfied result
  waits for the dispatcher's 复核 or has its `review` note.
"""

from __future__ import annotations

import json
import math
import operator
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import NamedTuple

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from cityops.cases import sla
from cityops.cases.models import Case, CaseEvent, CaseNumberCounter, Channel, new_tracking_code
from cityops.cases.states import (
    Action,
    CallbackStatus,
    ReviewStatus,
    Satisfaction,
    SatisfactionSource,
    Status,
)
from cityops.catalog import workcal
from cityops.catalog.models import Category, Stage, Urgency

HISTORY_PREFIX = "HIST-"  # external_id of every synthetic history case
DEFAULT_DAYS = 90
DEFAULT_PER_DAY = 60  # dispatched cases on an average working day
DEFAULT_SEED = 20261207

# ---------------------------------------------------------------- vocabulary per 小类
# code: (weight, scene, case type, objects, problems). The scene picks the places; objects ×
# problems × places × severities × templates × openers give each 小类 hundreds of wordings.
CATEGORIES: dict[str, tuple[int, str, str, list[str], list[str]]] = {
    # 数字城管 事件
    "E0102": (60, "street", "complaint", ["生活垃圾", "垃圾袋", "装修垃圾", "建筑垃圾", "废弃物"],
              ["堆在路边没人清运", "散落一地", "堆积发臭", "被随意丢弃", "堆了好几天"]),
    "E0104": (40, "street", "complaint", ["路面", "人行道", "街道", "路沿石旁"],
              ["泥土和落叶很多", "脏乱不堪", "有一大片油污", "长时间没人清扫"]),
    "E0101": (30, "home", "report", ["彩钢房", "违章棚子", "阳台外扩", "院内简易房", "楼顶加层"],
              ["私自搭建", "违规加盖", "占用公共通道搭建", "正在连夜搭建"]),
    "E0110": (28, "street", "help", ["路面", "沥青路", "人行道砖", "道路"],
              ["破损坑洼", "出现大坑", "开裂下沉", "松动翘起"]),
    "E0112": (14, "street", "complaint", ["渣土车", "运输车辆", "砂石料", "泥浆"],
              ["沿途遗撒", "洒落在路面上", "撒漏严重"]),
    "E0116": (18, "home", "complaint", ["饭店油烟", "烧烤店排烟", "餐馆排风口", "楼下餐馆的油烟"],
              ["直排扰民", "呛得人受不了", "熏得居民不敢开窗"]),
    "E0201": (30, "street", "complaint", ["小广告", "办证广告", "牛皮癣广告", "喷涂的电话号码"],
              ["贴满墙面", "到处张贴", "清理后又出现", "贴满了电线杆"]),
    "E0203": (10, "street", "complaint", ["广告牌", "立式招牌", "易拉宝", "落地灯箱"],
              ["摆在人行道上", "占道摆放", "挡住了通行"]),
    "E0301": (34, "home", "complaint", ["工地", "施工机械", "打桩机", "搅拌车"],
              ["夜间施工噪音很大", "深夜还在作业", "凌晨还在施工", "噪声扰民"]),
    "E0302": (22, "street", "complaint", ["工地", "土方作业", "裸露土堆", "拆迁现场"],
              ["扬尘严重", "没有覆盖防尘网", "尘土飞扬", "不洒水降尘"]),
    "E0404": (30, "home", "help", ["下水道", "排水管", "污水管道", "化粪池"],
              ["堵塞", "污水外溢", "往外冒污水", "返臭水"]),
    "E0406": (14, "street", "help", ["路面积水", "低洼处积水", "下穿通道积水"],
              ["很深无法通行", "雨后一直排不出去", "淹到脚踝"]),
    "E0407": (24, "street", "help", ["积雪", "路面结冰", "人行道上的冰", "坡道积雪"],
              ["没有清理", "有行人滑倒", "车辆打滑", "结成厚冰"]),
    "E0501": (30, "street", "complaint", ["流动摊贩", "三轮车摊点", "卖水果的小贩", "流动早餐车"],
              ["占道经营", "堵塞通道", "每天早晚摆摊"]),
    "E0504": (24, "street", "complaint", ["商铺", "饭店", "便利店", "五金店"],
              ["把货物摆到店外", "门口摆桌经营", "出店经营占用人行道"]),
    "E0505": (44, "home", "complaint", ["私家车", "机动车", "货车", "面包车"],
              ["停在消防通道上", "占用人行道停放", "乱停乱放堵路", "长期占用车位出口"]),
    "E0506": (20, "street", "complaint", ["共享单车", "电动车", "自行车"],
              ["乱停乱放", "堆满人行道", "倒了一地"]),
    "E0507": (18, "home", "complaint", ["纸箱杂物", "建材", "废旧家具", "杂物"],
              ["堆放在楼道里", "堆在路边", "占用消防通道"]),
    "E0508": (20, "home", "complaint", ["商铺音响", "喇叭叫卖声", "广场舞音响", "酒吧音乐"],
              ["声音太大", "循环播放扰民", "晚上十点还不停"]),
    "E0510": (10, "street", "complaint", ["烧烤摊", "露天烧烤", "夜市烤串摊"],
              ["烟雾很大", "夜间经营到凌晨", "油烟熏人"]),
    "E0598": (8, "street", "complaint", ["盲道"], ["被车辆占压", "被杂物占用", "被摊点占用"]),
    # 数字城管 部件
    "P0101": (12, "street", "help", ["上水井盖", "自来水井盖", "给水井盖"], ["破损", "缺失", "松动有响声", "下沉"]),
    "P0102": (14, "street", "help", ["污水井盖", "污水检查井盖"], ["破损", "缺失", "松动有响声", "移位"]),
    "P0103": (10, "street", "help", ["雨水井盖", "雨水检查井盖"], ["破损", "缺失", "下沉", "被压碎"]),
    "P0118": (36, "street", "help", ["路灯", "路灯杆", "一排路灯"], ["不亮", "一闪一闪", "白天还亮着", "灯杆倾斜"]),
    "P0214": (12, "street", "help", ["红绿灯", "交通信号灯", "人行横道信号灯"], ["不亮", "出现故障", "绿灯时间太短"]),
    "P0211": (10, "street", "help", ["交通护栏", "隔离栏", "道路护栏"], ["被撞倒", "断裂", "歪倒在路上"]),
    "P0305": (16, "street", "complaint", ["果皮箱", "垃圾桶", "分类垃圾箱"], ["满溢没人清", "破损", "不见了"]),
    "P0402": (16, "street", "help", ["行道树", "树枝", "大树"], ["倒伏", "枯死", "断枝挂在电线上", "遮挡了路牌"]),
    "P0126": (8, "home", "help", ["健身器材", "单杠", "漫步机"], ["损坏", "螺丝松动", "锈蚀断裂"]),
    "P0301": (8, "street", "complaint", ["公厕", "公共厕所"], ["脏乱", "白天不开门", "冲水坏了"]),
    # 12345 诉求 小类
    "H010208": (46, "home", "complaint", ["暖气", "家里的暖气片", "地暖", "供暖"],
                ["不热", "温度不达标", "只有十几度", "漏水"]),
    "H010213": (16, "home", "help", ["天然气", "燃气", "燃气表"], ["停气", "压力不足", "有异味"]),
    "H010216": (20, "home", "help", ["自来水", "水压", "家里的水"], ["停水", "发黄", "太小上不了楼"]),
    "H010215": (14, "home", "help", ["电", "楼里的电", "线路"], ["停电", "频繁跳闸", "电压不稳"]),
    "H011003": (34, "home", "complaint", ["物业", "物业公司", "小区电梯", "楼道灯"],
                ["不作为", "电梯经常坏", "收费不合理", "长期不管"]),
    "H010206": (14, "street", "complaint", ["公交车", "公交司机", "公交线路"], ["不按站停车", "班次太少", "服务态度差"]),
    "H020306": (28, "work", "help", ["工资", "工钱", "劳务费", "几个月的工资"], ["被拖欠", "一直不发", "被克扣"]),
    "H020604": (10, "work", "help", ["农民工工资", "务工人员的工资"], ["被包工头拖欠", "年底还没结清"]),
    "H020601": (10, "work", "help", ["劳动合同", "单位"], ["不签劳动合同", "违法解除合同", "不给经济补偿"]),
    "H020201": (10, "service", "consult", ["养老保险", "社保", "养老金"], ["断缴怎么补", "转移接续办不了", "缴费基数有疑问"]),
    "H030302": (8, "service", "complaint", ["学校", "幼儿园", "培训班"], ["乱收费", "收取额外费用", "退费困难"]),
    "H030209": (8, "service", "complaint", ["校外培训机构", "课外辅导班"], ["违规办学", "卷款跑路", "无证经营"]),
    "H040408": (10, "service", "complaint", ["商家", "超市", "停车场"], ["价格欺诈", "乱收费", "不明码标价"]),
    "H040403": (10, "service", "complaint", ["买到的商品", "电动车", "家电"], ["质量有问题", "是假货", "商家拒绝退换"]),
    "H060401": (14, "service", "complaint", ["餐馆", "外卖", "小吃店", "超市的熟食"], ["卫生条件很差", "吃了拉肚子", "食品过期"]),
    "H050203": (10, "home", "complaint", ["工厂", "空压机", "冷却塔", "楼下商户"], ["噪声很大", "昼夜轰鸣", "噪音扰民"]),
    "H050206": (10, "street", "complaint", ["工厂烟囱", "锅炉房", "焚烧点"], ["冒黑烟", "排放刺鼻气体", "废气污染"]),
    "H070104": (8, "street", "complaint", ["网约车", "网约车司机"], ["乱收费", "绕路", "拒载"]),
    "H070301": (10, "street", "complaint", ["出租车", "出租车司机"], ["拒载", "不打表", "绕路多收钱"]),
    "H070604": (8, "service", "complaint", ["快递", "快递公司", "快递驿站"], ["丢件", "不送货上门", "乱收费"]),
}
# Vague wordings: a share of reports names only what a citizen sees ("井盖", "噪音"), not which
# kind it is, so related 小类 get confused as they are on a real desk (the model cannot be sure
# of them, and the auto-dispatch threshold has something to decide).
VAGUE_OBJECTS = {
    "P0101": "井盖", "P0102": "井盖", "P0103": "井盖",
    "E0301": "噪音", "E0508": "噪音", "H050203": "噪音",
    "E0102": "垃圾", "E0104": "垃圾", "P0305": "垃圾",
    "E0505": "车辆", "E0506": "车辆", "E0598": "车辆",
    "E0116": "油烟", "E0510": "油烟", "H060401": "饭店",
    "H010216": "水", "E0404": "水", "E0406": "水",
    "E0501": "摊点", "E0504": "摊点", "E0203": "摊点",
    "H020306": "工资", "H020604": "工资", "H020601": "单位",
    "H070104": "司机", "H070301": "司机", "H010206": "司机",
    "H040408": "商家", "H040403": "商家", "H070604": "商家",
}
P_VAGUE = 0.2
URBAN_CHANNELS = ((Channel.INSPECTOR, 0.46), (Channel.CITY_PLATFORM, 0.24), (Channel.HOTLINE, 0.19), (Channel.WEB, 0.07), (Channel.IOT, 0.04))
HOTLINE_CHANNELS = ((Channel.CITY_PLATFORM, 0.52), (Channel.HOTLINE, 0.36), (Channel.WEB, 0.10), (Channel.API, 0.02))
NO_REPORTER = {Channel.INSPECTOR, Channel.IOT, Channel.API}

OPENERS = {
    Channel.HOTLINE: ["市民来电反映：", "来电人称，", "来电反映", ""],
    Channel.CITY_PLATFORM: ["", "市民反映：", "群众诉求：", "市民称"],
    Channel.WEB: ["网友留言：", "", "我想反映一下，", "你好，"],
    Channel.INSPECTOR: ["巡查发现", "网格员上报：", ""],
    Channel.IOT: ["物联感知告警：", "监测设备发现"],
    Channel.API: ["", "系统转办："],
}
TEMPLATES = [
    "{where}{obj}{problem}，{sev}，请尽快处理。",
    "{where}的{obj}{problem}，{sev}，希望有关部门过来看看。",
    "{obj}{problem}，地点在{where}，{sev}。",
    "{where}{obj}{problem}，多次反映没有解决，要求尽快处理并回复。",
    "{where}附近{obj}{problem}，{sev}，麻烦派人处理一下。",
    "关于{where}{obj}{problem}的问题，{sev}，请相关部门核实处理。",
    "{obj}在{where}{problem}，{sev}。",
    "{where}{obj}{problem}。",
]
SEVERITIES = ["已经好几天了", "情况比较严重", "存在安全隐患", "影响居民出行", "老人小孩经过很危险", "晚上尤其明显",
              "群众意见很大", "影响正常生活", "之前反映过一次", "希望尽快解决"]
SPOTS = {
    "street": ["东门外", "西门口", "南侧路口", "北门", "主干道上", "背街小巷", "公交站旁", "十字路口", "人行道上", "广场",
               "沿街商铺前", "学校门口", "菜市场旁", "停车场", "桥下", "河道边"],
    "home": ["小区内", "3号楼下", "5号楼2单元", "小区院内", "家属院", "12号楼", "小区地下车库", "小区门口", "楼道里"],
    "work": ["我所在的公司", "一处建筑工地", "原来的单位", "一家餐饮公司", "一家物流公司", "一家超市", "一家装修公司"],
    "service": ["辖区内", "家附近", "孩子就读的学校", "附近一家医院", "一家药店", "家门口的超市", "商场里"],
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "霞", "平"]

# Daily profile of incoming cases (local hour → weight) and the calendar's effect.
HOURLY = [0.15, 0.08, 0.05, 0.04, 0.05, 0.12, 0.35, 0.8, 1.55, 2.1, 2.2, 1.9,
          1.2, 1.05, 1.7, 1.95, 1.85, 1.55, 1.05, 0.85, 0.75, 0.6, 0.4, 0.25]
OFF_DAY_FACTOR = 0.6  # weekends and holidays (working calendar, 调休 included)

# Lifecycle shares.
P_RETURN = 0.03  # first dispatch returned as 非本单位职责, accepted, re-dispatched
P_RETURN_REJECTED = 0.01  # a return the dispatcher refuses
P_EXTENSION = 0.06
P_VERIFY_FAIL = 0.04
P_NO_CALLBACK_WISH = 0.03
P_CITIZEN_RATES_FIRST = 0.10
P_UNREACHABLE = 0.04
P_FAILED_ATTEMPT_FIRST = 0.10
SATISFACTION_SHARES = ((Satisfaction.SATISFIED, 0.86), (Satisfaction.BASICALLY_SATISFIED, 0.095), (Satisfaction.UNSATISFIED, 0.045))
BUSY_GRIDS = 300  # grids the history's cases fall in
HANDLE_SHARE = 0.45  # median share of the handling time limit a department uses
AUTO_DISPATCH_DAYS = 30  # in the last month, part of the dispatches came from 智能分拨
P_AUTO_DISPATCH = 0.3

RESULTS = ["已安排人员现场处置完毕，经复查问题已解决。", "已联系责任单位整改到位。", "已现场查看并处理，恢复正常。",
           "已责令当事人限期整改，现已整改完毕。", "已协调相关单位解决，并向反映人说明情况。"]


@dataclass
class HistoryResult:
    cases: int = 0
    events: int = 0
    seconds: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)
    skipped: str = ""


@dataclass
class _Reference:
    categories: list[Category]
    weights: list[float]
    grids: list[tuple]  # (grid_id, street_id, community_id, community name, [points])
    grid_weights: list[float]  # some grids are much busier than others
    department: dict[tuple[int, int | None], int]  # (category id, street id) → department id
    departments: list[int]
    dept_name: dict[int, str]
    dept_code: dict[int, str]
    dept_user: dict[int, tuple[int, str]]
    users: dict[str, tuple[int, str]]  # operator/dispatcher/inspector → (id, label)
    limits: dict[tuple[int, str], sla.Limit]


def history_loaded() -> bool:
    return Case.objects.filter(external_id__startswith=HISTORY_PREFIX).exists()


def _load_reference(rng: random.Random) -> _Reference | None:
    from shapely import contains_xy
    from shapely.geometry import shape

    from cityops.accounts.models import User
    from cityops.catalog.models import Department, DepartmentKind, ResponsibilityRule
    from cityops.catalog.selectors import AssignmentSource, category_ancestors, responsible_department
    from cityops.geo.models import Region, UnitGrid

    categories = list(Category.objects.filter(code__in=list(CATEGORIES), active=True, children__isnull=True).order_by("code"))
    # Cases gather in a few hundred busy grids (hot spots), not evenly over thousands: only those
    # grids' polygons are read and sampled.
    grid_ids = list(UnitGrid.objects.order_by("code").values_list("pk", flat=True))
    busy = sorted(rng.sample(grid_ids, min(BUSY_GRIDS, len(grid_ids))))
    grid_rows = list(UnitGrid.objects.filter(pk__in=busy).select_related("community").order_by("code"))
    users = {u.username: (u.pk, u.display_name or u.username) for u in User.objects.filter(
        username__in=["operator", "dispatcher", "inspector"])}
    if not categories or not grid_rows or len(users) < 3:
        return None
    grids = []
    for grid in grid_rows:
        polygon = shape(grid.boundary)
        minx, miny, maxx, maxy = polygon.bounds
        xs = [rng.uniform(minx, maxx) for _ in range(48)]
        ys = [rng.uniform(miny, maxy) for _ in range(48)]
        inside = contains_xy(polygon, xs, ys)
        points = [(x, y) for x, y, ok in zip(xs, ys, inside, strict=True) if ok][:12]
        if not points:
            rp = polygon.representative_point()
            points = [(rp.x, rp.y)]
        community = grid.community.name.replace("居民委员会", "").replace("村民委员会", "") if grid.community else ""
        grids.append((grid.pk, grid.street_id, grid.community_id, community, points))
    streets = sorted({g[1] for g in grids}, key=lambda s: s or 0)
    street_objs = {r.pk: r for r in Region.objects.filter(pk__in=[s for s in streets if s])}
    today = timezone.localdate()
    # One lookup per category when its 权责清单 line holds district-wide; per street otherwise.
    local_rules = set(ResponsibilityRule.objects.filter(street__isnull=False).values_list("category_id", flat=True))
    department: dict[tuple[int, int | None], int] = {}
    for category in categories:
        try:
            district = responsible_department(category, None, today)
            chain = {node.pk for node in category_ancestors(category)}
            if district.source == AssignmentSource.RULE and not (chain & local_rules):
                department.update({(category.pk, street): district.lead.pk for street in streets})
                continue
            for street in streets:
                department[(category.pk, street)] = responsible_department(category, street_objs.get(street), today).lead.pk
        except Exception:  # incomplete reference data: that category is not generated
            continue
    depts = list(Department.objects.filter(active=True).exclude(kind=DepartmentKind.CENTER).values_list("pk", "code", "name"))
    dept_user: dict[int, tuple[int, str]] = {}
    for pk, username, label, dept_id in User.objects.filter(username__startswith="dept-", department__isnull=False).values_list(
        "pk", "username", "display_name", "department_id"
    ):
        dept_user.setdefault(dept_id, (pk, label or username))
    limits = {}
    for category in categories:
        for stage in (Stage.SIGN, Stage.HANDLE, Stage.VERIFY, Stage.DISPATCH):
            limits[(category.pk, str(stage))] = sla.stage_limit(category_id=category.pk, urgency=Urgency.NORMAL, stage=stage,
                                                               case_type=CATEGORIES[category.code][2])
    return _Reference(
        categories=categories, weights=[CATEGORIES[c.code][0] for c in categories], grids=grids,
        grid_weights=[rng.lognormvariate(0.0, 0.8) for _ in grids], department=department,
        departments=[d[0] for d in depts], dept_name={d[0]: d[2] for d in depts}, dept_code={d[0]: d[1] for d in depts},
        dept_user=dept_user, users=users, limits=limits,
    )


def _choice(rng: random.Random, pairs) -> object:
    x = rng.random()
    for value, p in pairs:
        x -= p
        if x < 0:
            return value
    return pairs[-1][0]


def _lognormal(rng: random.Random, median_hours: float, sigma: float) -> timedelta:
    return timedelta(hours=median_hours * math.exp(rng.gauss(0.0, sigma)))


def describe(rng: random.Random, code: str, channel: str, community: str) -> tuple[str, str]:
    """(title, description) of a synthetic case of 小类 `code`: varied wording, never the category's name."""
    _weight, scene, _type, objects, problems = CATEGORIES[code]
    obj, problem = rng.choice(objects), rng.choice(problems)
    if code in VAGUE_OBJECTS and rng.random() < P_VAGUE:
        obj = VAGUE_OBJECTS[code]
        problem = rng.choice([p for other, word in VAGUE_OBJECTS.items() if word == obj for p in CATEGORIES[other][4]])
    spot = rng.choice(SPOTS[scene])
    where = f"{community}{spot}" if scene in ("street", "home") and community else spot
    body = rng.choice(TEMPLATES).format(where=where, obj=obj, problem=problem, sev=rng.choice(SEVERITIES))
    text = rng.choice(OPENERS.get(channel, [""])) + body
    title = f"{obj}{problem}"[:60] if channel in (Channel.HOTLINE, Channel.CITY_PLATFORM) else ""
    return title, text


_CASE_FIELDS = [f for f in Case._meta.concrete_fields if not f.primary_key]
_CASE_DEFAULTS: dict = {}


def _case_row(**values) -> SimpleNamespace:
    """A case as a plain namespace of column values (attnames) with the model's defaults:
    5,000 Case instances cost more than the rest of the generation."""
    if not _CASE_DEFAULTS:
        _CASE_DEFAULTS.update({f.attname: f.get_default() for f in _CASE_FIELDS})
    row = SimpleNamespace(**{**_CASE_DEFAULTS, **values})
    row.pk, row.tracking_code = None, new_tracking_code()  # the one default that differs per row
    return row


class _Event(NamedTuple):
    """A CaseEvent row before its case has an id (cheaper than 40,000 model instances)."""

    created_at: datetime
    actor_id: int | None
    actor_label: str
    action: str
    from_status: str
    to_status: str
    department_id: int | None
    note: str
    payload: dict


class _Builder:
    """One case's timeline: events in order, and the case fields they leave behind."""

    def __init__(self, case: Case, now: datetime) -> None:
        self.case, self.now, self.events = case, now, []
        self.status = Status.NEW

    def add(self, at: datetime, action: str, to: str | None = None, *, actor: tuple[int, str] | None = None, label: str = "",
            department: int | None = None, payload: dict | None = None, note: str = "") -> bool:
        """Append the event if it has happened by now; returns whether it did."""
        if at > self.now:
            return False
        frm = self.status
        self.status = to or self.status
        self.events.append(_Event(
            created_at=at, actor_id=actor[0] if actor else None, actor_label=actor[1] if actor else label, action=action,
            from_status="" if action == Action.CREATE else frm, to_status=self.status, department_id=department,
            note=note, payload=payload or {},
        ))
        return True


class _Generator:
    def __init__(self, ref: _Reference, rng: random.Random, now: datetime) -> None:
        self.ref, self.rng, self.now = ref, rng, now
        self.max_attempts = int(settings.CITYOPS_CALLBACK_MAX_ATTEMPTS)
        self.names = [s + g for s in SURNAMES for g in GIVEN]

    def dept_actor(self, dept: int) -> tuple[int, str] | None:
        return self.ref.dept_user.get(dept)

    def due(self, start: datetime, category: Category, stage: str) -> tuple[datetime, str]:
        limit = self.ref.limits[(category.pk, stage)]
        return sla.due(start, limit), limit.unit

    def case(self, created: datetime, index: int) -> tuple[Case, list[CaseEvent]] | None:
        rng, ref = self.rng, self.ref
        category = rng.choices(ref.categories, weights=ref.weights)[0]
        grid_id, street_id, community_id, community, points = rng.choices(ref.grids, weights=ref.grid_weights)[0]
        dept = ref.department.get((category.pk, street_id))
        if dept is None:
            return None
        urban = category.code[0] in "EP"
        channel = _choice(rng, URBAN_CHANNELS if urban else HOTLINE_CHANNELS)
        title, description = describe(rng, category.code, channel, community)
        lon, lat = rng.choice(points)
        reporter = channel not in NO_REPORTER
        operator, dispatcher, inspector = ref.users["operator"], ref.users["dispatcher"], ref.users["inspector"]
        case = _case_row(
            number="", channel=channel, external_id=f"{HISTORY_PREFIX}{index:06d}", case_type=CATEGORIES[category.code][2],
            category_id=category.pk, urgency=Urgency.NORMAL, title=title, description=description, lon=lon, lat=lat,
            address=f"{community}{rng.choice(SPOTS['street'])}" if community else "", grid_id=grid_id, street_id=street_id,
            community_id=community_id, reporter_name=rng.choice(self.names) if reporter else "",
            reporter_phone=f"1{rng.choice('3578')}{rng.randrange(10**9):09d}" if reporter else "",
            no_callback=reporter and rng.random() < P_NO_CALLBACK_WISH,
            created_by_id=inspector[0] if channel == Channel.INSPECTOR else operator[0] if channel == Channel.HOTLINE else None,
            created_at=created,
        )
        b = _Builder(case, self.now)
        creator = inspector if channel == Channel.INSPECTOR else operator if channel == Channel.HOTLINE else None
        b.add(created, Action.CREATE, Status.NEW, actor=creator, label=Channel(channel).label,
              payload={"channel": channel, "coord_system": "wgs84", "synthetic": True})
        t = created + _lognormal(rng, 0.4, 0.9)
        if not b.add(t, Action.REGISTER, Status.REGISTERED, actor=operator, payload={"category": category.code}):
            return self.finish(b, category, stage=(Stage.REGISTER, created))
        case.registered_at = t
        auto = (self.now - t).days < AUTO_DISPATCH_DAYS and rng.random() < P_AUTO_DISPATCH
        returned = not auto and rng.random() < P_RETURN
        first_dept = dept
        if returned:
            others = [d for d in ref.departments if d != dept]
            first_dept = rng.choice(others) if others else dept
        t += _lognormal(rng, 0.05 if auto else 0.6, 1.0)

        def dispatch(at: datetime, to_dept: int, *, by_model: bool) -> bool:
            payload = {"department": ref.dept_code.get(to_dept, ""), "route": "auto" if by_model else "manual"}
            if by_model:
                payload["confidence"] = round(rng.uniform(0.9, 0.999), 4)
                return b.add(at, Action.DISPATCH, Status.DISPATCHED, label="智能分拨", department=to_dept, payload=payload)
            return b.add(at, Action.DISPATCH, Status.DISPATCHED, actor=dispatcher, department=to_dept, payload=payload)

        if not dispatch(t, first_dept, by_model=auto):
            return self.finish(b, category, stage=(Stage.DISPATCH, case.registered_at))
        case.dispatched_at, case.department_id = t, first_dept
        if returned:
            handler = self.dept_actor(first_dept)
            t += _lognormal(rng, 3, 0.8)
            request = {"reason": "not_our_duty", "note": "该事项不属于本单位职责，请改派。", "suggested_department": ref.dept_code.get(dept, ""),
                       "requested_at": t.isoformat(), "department": ref.dept_code.get(first_dept, "")}
            if not b.add(t, Action.RETURN, actor=handler, label=ref.dept_name.get(first_dept, ""), department=first_dept,
                         payload={**{k: v for k, v in request.items() if k != "requested_at"}, "pending": True, "mis_dispatch": True}):
                return self.finish(b, category, stage=(Stage.SIGN, t - timedelta(hours=3)))
            case.return_count = 1
            accept_t = t + _lognormal(rng, 0.8, 0.7)
            if not b.add(accept_t, Action.ACCEPT_RETURN, Status.RETURNED, actor=dispatcher, department=first_dept,
                         payload={"department": request["department"], "reason": "not_our_duty"}):
                case.return_pending, case.return_request = True, request
                return self.finish(b, category, stage=(Stage.SIGN, case.dispatched_at))
            case.department_id = None
            t = accept_t + _lognormal(rng, 0.5, 0.8)
            if not dispatch(t, dept, by_model=False):
                return self.finish(b, category, stage=(Stage.DISPATCH, accept_t))
            case.dispatched_at, case.department_id = t, dept
        handler = self.dept_actor(dept)
        dept_label = ref.dept_name.get(dept, "")
        dispatched = t
        handle_deadline, handle_unit = self.due(dispatched, category, Stage.HANDLE)
        case.handle_deadline, case.handle_unit = handle_deadline, handle_unit
        if not returned and rng.random() < P_RETURN_REJECTED:
            t += _lognormal(rng, 2, 0.8)
            if b.add(t, Action.RETURN, actor=handler, label=dept_label, department=dept,
                     payload={"reason": "not_our_duty", "note": "建议由属地街道处理。", "suggested_department": "", "department": ref.dept_code.get(dept, ""),
                              "pending": True, "mis_dispatch": True}):
                t += _lognormal(rng, 0.8, 0.7)
                if not b.add(t, Action.REJECT_RETURN, actor=dispatcher, department=dept, payload={"department": ref.dept_code.get(dept, "")},
                             note="经核实属于该单位职责，请继续处置。"):
                    case.return_pending = True
                    case.return_request = {"reason": "not_our_duty", "note": "建议由属地街道处理。", "suggested_department": "",
                                           "requested_at": t.isoformat(), "department": ref.dept_code.get(dept, "")}
                    return self.finish(b, category, stage=(Stage.SIGN, dispatched))
        t += _lognormal(rng, 2.5, 1.1)
        if not b.add(t, Action.SIGN, Status.IN_PROGRESS, actor=handler, label=dept_label, department=dept):
            return self.finish(b, category, stage=(Stage.SIGN, dispatched))
        signed = t
        # Departments use about half of their handling time; ~8 % run past the deadline.
        span = handle_deadline - dispatched
        respond_t = max(signed + timedelta(minutes=20), dispatched + span * min(3.0, HANDLE_SHARE * math.exp(rng.gauss(0.0, 0.55))))
        if rng.random() < P_EXTENSION:
            req_t = signed + _lognormal(rng, 24, 0.6)
            if b.add(req_t, Action.REQUEST_EXTENSION, actor=handler, label=dept_label, department=dept,
                     payload={"value": "2", "unit": "work_day"}, note="需协调产权单位共同处置"):
                ok_t = req_t + _lognormal(rng, 3, 0.7)
                if not b.add(ok_t, Action.APPROVE_EXTENSION, actor=dispatcher, department=dept, payload={
                        "value": "2", "unit": "work_day", "new_deadline": workcal.add_work_duration(handle_deadline, 2, "work_day").isoformat()}):
                    case.extension_pending = True
                    case.extension_request = {"value": "2", "unit": "work_day", "reason": "需协调产权单位共同处置", "requested_at": req_t.isoformat()}
                    return self.finish(b, category, stage=(Stage.HANDLE, dispatched), deadline=(handle_deadline, handle_unit))
                handle_deadline = workcal.add_work_duration(handle_deadline, 2, "work_day")
                case.handle_deadline = handle_deadline
                respond_t = max(respond_t, ok_t + _lognormal(rng, 20, 0.8))
        rounds = 2 if rng.random() < P_VERIFY_FAIL else 1
        for attempt in range(rounds):
            if handle_deadline < respond_t and handle_deadline <= self.now and not any(e.action == Action.SLA_OVERDUE for e in b.events):
                b.add(handle_deadline, Action.SLA_OVERDUE, label="系统", department=dept,
                      payload={"stage": "handle", "deadline": handle_deadline.isoformat()})
            if not b.add(respond_t, Action.RESPOND, Status.RESPONDED, actor=handler, label=dept_label, department=dept,
                         payload={"result": (result := rng.choice(RESULTS))}):
                return self.finish(b, category, stage=(Stage.HANDLE, dispatched), deadline=(handle_deadline, handle_unit))
            case.responded_at, case.result = respond_t, result
            verify_t = respond_t + _lognormal(rng, 5, 0.8)
            verifier = inspector if case.channel == Channel.INSPECTOR else dispatcher
            passed = attempt == rounds - 1
            if not b.add(verify_t, Action.VERIFY, Status.CLOSED if passed else Status.IN_PROGRESS, actor=verifier, department=dept,
                         payload={"passed": passed}, note="" if passed else "现场仍有残留，需返工"):
                return self.finish(b, category, stage=(Stage.VERIFY, respond_t))
            if not passed:
                case.rework_count += 1
                respond_t = verify_t + _lognormal(rng, 16, 0.7)
        case.closed_at = verify_t
        self.callback(b, case, verify_t)
        return self.finish(b, category)

    def callback(self, b: _Builder, case: Case, closed: datetime) -> None:
        """The callback outcome of a closed case (contract in docs/assessment.md)."""
        rng = self.rng
        operator, dispatcher = self.ref.users["operator"], self.ref.users["dispatcher"]
        if not case.reporter_phone or case.no_callback:
            case.callback_status = CallbackStatus.NOT_NEEDED
            return
        case.callback_status = CallbackStatus.PENDING
        satisfaction = _choice(rng, SATISFACTION_SHARES)
        t = closed + _lognormal(rng, 18, 0.7)
        if rng.random() < P_CITIZEN_RATES_FIRST:
            if not b.add(closed + _lognormal(rng, 6, 0.8), Action.RATE, label="市民",
                         payload={"satisfaction": satisfaction, "result": True}):
                return
            at, source = b.events[-1].created_at, SatisfactionSource.CITIZEN
            case.citizen_satisfaction = satisfaction
        else:
            failures = self.max_attempts if rng.random() < P_UNREACHABLE else (1 if rng.random() < P_FAILED_ATTEMPT_FIRST else 0)
            for attempt in range(1, failures + 1):
                final = attempt >= self.max_attempts
                if not b.add(t, Action.CALLBACK_ATTEMPT, actor=operator, payload={"attempt": attempt, "final": final}, note="电话未接通"):
                    return
                case.callback_attempts = attempt
                if final:
                    case.callback_status = CallbackStatus.UNREACHABLE
                    return
                t += _lognormal(rng, 20, 0.5)
            if not b.add(t, Action.CALLBACK, actor=operator, payload={"satisfaction": satisfaction, "result": True}):
                return
            at, source = t, SatisfactionSource.CALLBACK
        case.satisfaction, case.satisfaction_at, case.satisfaction_source = satisfaction, at, source
        case.callback_status = CallbackStatus.DONE
        if satisfaction == Satisfaction.UNSATISFIED:
            case.review_status = ReviewStatus.PENDING
            if b.add(at + _lognormal(rng, 20, 0.6), Action.REVIEW, actor=dispatcher,
                     payload={"note": "已与反映人沟通并说明处置情况。"}, note="已与反映人沟通并说明处置情况。"):
                case.review_status = ReviewStatus.REVIEWED

    def finish(self, b: _Builder, category: Category, *, stage: tuple[str, datetime] | None = None,
               deadline: tuple[datetime, str] | None = None) -> tuple[Case, list[CaseEvent]]:
        """Status, version and the SLA clock of the stage the case is in now."""
        case = b.case
        case.status = b.status
        case.version = len(b.events)
        if stage is not None and case.status not in (Status.CLOSED, Status.REJECTED):
            name, start = stage
            if deadline is None:
                limit = self.ref.limits.get((category.pk, str(name))) or sla.stage_limit(
                    category_id=category.pk, urgency=Urgency.NORMAL, stage=name)
                deadline = (sla.due(start, limit), limit.unit)
            case.stage, case.stage_started_at = name, start
            case.deadline, case.stage_unit = deadline
            case.warn_at = sla.warn_point(start, case.deadline, case.stage_unit)
            case.sla_level = sla.level_at(self.now, case.deadline, case.warn_at)
        return case, b.events


def _creation_times(rng: random.Random, days: int, per_day: int, now: datetime) -> list[datetime]:
    """Arrival times over the last `days` local days: `per_day` a day on average, more on working days,
    fewer on weekends and holidays (working calendar), none after `now`."""
    today = timezone.localtime(now).date()
    calendar = [today - timedelta(days=back) for back in range(days - 1, -1, -1)]
    factors = [1.0 if workcal.is_workday(day) else OFF_DAY_FACTOR for day in calendar]
    scale = per_day * len(factors) / sum(factors)  # `per_day` is the mean over all days
    out: list[datetime] = []
    for day, factor in zip(calendar, factors, strict=True):
        count = max(0, round(rng.gauss(scale * factor, math.sqrt(scale * factor))))
        start = timezone.make_aware(datetime.combine(day, datetime.min.time()))
        for hour in rng.choices(range(24), weights=HOURLY, k=count):
            moment = start + timedelta(hours=hour, seconds=rng.randrange(3600))
            if moment < now - timedelta(minutes=5):
                out.append(moment)
    out.sort()
    return out


def _number_cases(cases: list[Case]) -> dict[date, int]:
    """CD<yyyymmdd>-<nnnn> numbers continuing each day's counter; returns the new counter values."""
    days = sorted({timezone.localtime(c.created_at).date() for c in cases})
    last = dict(CaseNumberCounter.objects.filter(day__in=days).values_list("day", "last"))
    for case in cases:
        day = timezone.localtime(case.created_at).date()
        last[day] = last.get(day, 0) + 1
        case.number = f"CD{day:%Y%m%d}-{last[day]:04d}"
    return last


def demo_history_ensure(
    *, days: int = DEFAULT_DAYS, per_day: int = DEFAULT_PER_DAY, seed: int = DEFAULT_SEED, now: datetime | None = None,
    rebuild: bool = True,
) -> HistoryResult:
    """Load the synthetic history once (skipped when any HIST- case exists); then rebuild the
    derived data (rollups, duplicate index) unless `rebuild` is False."""
    started = time.perf_counter()
    if history_loaded():
        return HistoryResult(skipped="已存在")
    rng = random.Random(seed)
    now = now or timezone.now()
    ref = _load_reference(rng)
    if ref is None:
        return HistoryResult(skipped="缺少基础数据（分类、网格或演示账号）")
    generator = _Generator(ref, rng, now)
    cases: list[Case] = []
    events: list[list[CaseEvent]] = []
    for index, created in enumerate(_creation_times(rng, days, per_day, now)):
        made = generator.case(created, index)
        if made is not None:
            cases.append(made[0])
            events.append(made[1])
    with transaction.atomic():
        counters = _number_cases(cases)
        for case, case_events in zip(cases, events, strict=True):
            case.updated_at = max(e.created_at for e in case_events)
        _insert_cases(cases)
        rows = _insert_events(cases, events)
        # updated_at is auto_now: give each case the time of its last event instead.
        for day, value in counters.items():
            if not CaseNumberCounter.objects.filter(day=day).update(last=value):
                CaseNumberCounter.objects.create(day=day, last=value)
    result = HistoryResult(cases=len(cases), events=rows, statuses=dict(Counter(c.status for c in cases)))
    if rebuild:
        rebuild_derived()
    result.seconds = round(time.perf_counter() - started, 2)
    return result


def _converter(field, conn):
    """How a value of `field` goes to the database, without the per-value cost of
    `get_db_prep_save`: on SQLite datetimes as naive UTC text and JSON as text (what its
    backend writes), on other backends through the field; text, numbers, booleans and ids as
    they are."""
    from django.db import models

    sqlite = conn.vendor == "sqlite"
    if isinstance(field, models.DateTimeField):
        if sqlite:
            return lambda v: None if v is None else str(v.astimezone(UTC).replace(tzinfo=None))
        return lambda v: field.get_db_prep_save(v, conn)
    if isinstance(field, models.JSONField):
        if sqlite:
            return lambda v: None if v is None else json.dumps(v)
        return lambda v: field.get_db_prep_save(v, conn)
    return None


def _insert_many(model, fields, rows) -> None:
    conn = connections[DEFAULT_DB_ALIAS]
    convert = [(i, fn) for i, fn in enumerate(_converter(f, conn) for f in fields) if fn is not None]
    values = operator.attrgetter(*[f.attname for f in fields])
    prepared = []
    for row in rows:
        out = list(values(row))
        for i, fn in convert:
            out[i] = fn(out[i])
        prepared.append(out)
    table = conn.ops.quote_name(model._meta.db_table)
    columns = ", ".join(conn.ops.quote_name(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    with conn.cursor() as cursor:
        for start in range(0, len(prepared), 2000):
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", prepared[start : start + 2000])


def _insert_cases(cases: list[SimpleNamespace]) -> None:
    """The cases in `executemany` batches (the ORM's bulk_create spends seconds compiling SQL
    for 5,000 rows of 60 columns), then their ids by case number (works on every backend)."""
    _insert_many(Case, _CASE_FIELDS, cases)
    ids: dict[str, int] = {}
    numbers = [c.number for c in cases]
    for start in range(0, len(numbers), 500):
        ids.update(Case.objects.filter(number__in=numbers[start : start + 500]).values_list("number", "pk"))
    for case in cases:
        case.pk = ids[case.number]


def _insert_events(cases: list[SimpleNamespace], events: list[list[_Event]]) -> int:
    fields = [f for f in CaseEvent._meta.concrete_fields if not f.primary_key]
    rows = [SimpleNamespace(case_id=case.pk, **e._asdict()) for case, case_events in zip(cases, events, strict=True) for e in case_events]
    _insert_many(CaseEvent, fields, rows)
    return len(rows)


def rebuild_derived() -> dict:
    """What bulk inserts bypassed: the analytics rollups (one rebuild, not a per-event fan-out)
    and the duplicate-search index. Hot issues follow at the next `rollups` job (every 5 minutes)."""
    out: dict = {}
    try:
        from cityops.analytics.rollups import rollup_rebuild

        out["rollups"] = rollup_rebuild().daily_rows
    except Exception:  # the history stays; `cityops rollup_rebuild` repairs it
        import logging

        logging.getLogger(__name__).exception("rollup rebuild after the demo history failed")
    from cityops.routing.duplicates import reindex

    out["duplicate_index"] = reindex()
    return out


