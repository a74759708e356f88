"""One small district with two departments, two grids, a user per role and cases in several
states, built once per test module (inside a transaction rolled back at the module's end) for
the permission matrix, the scope tests, the API fuzzing and the hostile-input corpus.

Each test still runs in its own savepoint (pytest-django's `db`), exactly as Django's
`TestCase.setUpTestData` does, so whatever a test writes is gone before the next one.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from cityops.accounts import roles
from cityops.accounts.tests.factories import UserFactory
from cityops.cases.models import AttachmentKind, Case, Channel, Notification, NotificationKind
from cityops.cases.services import CaseInput, attachment_add, case_create
from cityops.cases.states import Action
from cityops.cases.tests.factories import DepartmentFactory, LeafCategoryFactory
from cityops.cases.workflow import case_transition
from cityops.geo import lookup
from cityops.geo.models import Region, RegionLevel, UnitGrid

DISTRICT = "630102"
W, S, E, N = 101.80, 36.60, 101.82, 36.62
MID = (W + E) / 2
WEST = (101.805, 36.61)
EAST = (101.815, 36.61)

# Every role of accounts.roles, and "anonymous"; the matrix runs each route for all of them.
ROLE_CODES = [roles.OPERATOR, roles.DISPATCHER, roles.DEPARTMENT, roles.INSPECTOR, roles.LEADER,
              roles.SYSADMIN, roles.SECADMIN, roles.AUDITOR, roles.SYSTEM]
ANONYMOUS = "anonymous"
PRINCIPALS = [ANONYMOUS, *ROLE_CODES]


def box(w: float, s: float, e: float, n: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def jpeg_bytes(size=(32, 24)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(buf, format="JPEG")
    return buf.getvalue()


@dataclass
class World:
    users: dict[str, object]  # role code → user; "department" is department A's, "inspector" owns the west grid
    dept_a: object
    dept_b: object
    other: dict[str, object]  # department B's user, the east grid's inspector
    category: object
    grids: dict[str, object]
    case_a: Case  # created by the system account in the west grid, dispatched to department A
    case_b: Case  # created by an operator in the east grid, dispatched to department B
    case_responded: Case  # department A has responded; waits for the west inspector's verification
    attachment_a: object
    notifications: dict[str, int] = field(default_factory=dict)  # role code → a notification of that user

    def user(self, principal: str):
        return None if principal == ANONYMOUS else self.users[principal]


def _case(*, actor, lon_lat, channel, description) -> Case:
    lon, lat = lon_lat
    return case_create(
        data=CaseInput(description=description, channel=channel, lon=lon, lat=lat, category="E9901",
                       reporter_name="张三", reporter_phone="13812341234"),
        actor=actor,
    )


def _dispatched(case: Case, users: dict, department) -> Case:
    case = case_transition(case=case, action=Action.REGISTER, actor=users[roles.OPERATOR])
    return case_transition(case=case, action=Action.DISPATCH, actor=users[roles.DISPATCHER],
                           data={"department": department.code})


def build_world() -> World:
    cache.clear()
    district = Region.objects.create(code=DISTRICT, name="城东区", level=RegionLevel.DISTRICT, boundary=box(W, S, E, N))
    street = Region.objects.create(code=f"{DISTRICT}001", name="东关大街街道", short_name="东关大街街道",
                                   level=RegionLevel.STREET, parent=district, boundary=box(W, S, E, N))
    community = Region.objects.create(code=f"{DISTRICT}001001", name="北关社区", level=RegionLevel.COMMUNITY,
                                      parent=street, boundary=box(W, S, E, N))
    west = UnitGrid.objects.create(code=f"{DISTRICT}00100101", name="北关01", community=community, street=street,
                                   boundary=box(W, S, MID, N))
    east = UnitGrid.objects.create(code=f"{DISTRICT}00100102", name="北关02", community=community, street=street,
                                   boundary=box(MID, S, E, N))
    lookup.reset_index()
    category = LeafCategoryFactory(code="E9901", name="暴露垃圾")
    dept_a = DepartmentFactory(code="chengguan", name="区城市管理局")
    dept_b = DepartmentFactory(code="zhujian", name="区住建局")

    users = {code: UserFactory(role=code, username=f"sec_{code}") for code in ROLE_CODES if code not in (roles.DEPARTMENT,)}
    users[roles.DEPARTMENT] = UserFactory(role=roles.DEPARTMENT, department=dept_a, username="sec_department")
    users[roles.INSPECTOR].grids.add(west)
    other = {
        "department_b": UserFactory(role=roles.DEPARTMENT, department=dept_b, username="sec_department_b"),
        "inspector_east": UserFactory(role=roles.INSPECTOR, username="sec_inspector_east"),
    }
    other["inspector_east"].grids.add(east)

    case_a = _dispatched(_case(actor=users[roles.SYSTEM], lon_lat=WEST, channel=Channel.API,
                               description="甲部门案件：北关01网格井盖缺失"), users, dept_a)
    case_b = _dispatched(_case(actor=users[roles.OPERATOR], lon_lat=EAST, channel=Channel.HOTLINE,
                               description="乙部门案件：北关02网格违章搭建"), users, dept_b)
    responded = _dispatched(_case(actor=users[roles.OPERATOR], lon_lat=WEST, channel=Channel.HOTLINE,
                                  description="甲部门已处置：北关01网格路灯不亮"), users, dept_a)
    responded = case_transition(case=responded, action=Action.SIGN, actor=users[roles.DEPARTMENT])
    responded = case_transition(case=responded, action=Action.RESPOND, actor=users[roles.DEPARTMENT],
                                data={"result": "已更换灯泡"})
    attachment = attachment_add(case=case_a, upload=SimpleUploadedFile("a.jpg", jpeg_bytes(), content_type="image/jpeg"),
                                kind=AttachmentKind.BEFORE, actor=users[roles.SYSTEM])
    world = World(users=users, dept_a=dept_a, dept_b=dept_b, other=other, category=category,
                  grids={"west": west, "east": east}, case_a=case_a, case_b=case_b, case_responded=responded,
                  attachment_a=attachment)
    for code, user in users.items():
        note = Notification.objects.create(recipient=user, case=case_a, kind=NotificationKind.INFO, message="测试通知")
        world.notifications[code] = note.pk
    return world
