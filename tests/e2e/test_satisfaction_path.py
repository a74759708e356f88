"""The 不满意 path through the browser: the citizen rates 不满意 on /track/, the dispatcher finds
the case in the 不满意复核 tab and reopens it (重办), the department signs and responds again,
the dispatcher verifies, and the operator calls back from the 回访 queue."""

import pytest
from shapely.geometry import shape

from cityops.accounts.tests.factories import UserFactory
from cityops.cases.models import Case
from cityops.cases.services import CaseInput, case_create
from cityops.cases.states import Action
from cityops.cases.workflow import case_transition
from cityops.catalog.models import Department
from cityops.geo.models import UnitGrid
from tests.e2e.support import PASSWORD, STREET, act, login, read, wait_for, wait_for_status

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def closed_case(operator, dispatcher, department) -> Case:
    """A citizen's web report (with a phone) handled and verified, before any browser is open."""
    point = shape(UnitGrid.objects.filter(street__code=STREET).first().boundary).representative_point()
    case = case_create(data=CaseInput(
        description="小区东门外暴露垃圾成堆，两天无人清运。", channel="web", lon=point.x, lat=point.y,
        reporter_name="王小明", reporter_phone="13900001111",
    ), actor_label="市民")
    case = case_transition(case=case, action=Action.REGISTER, actor=operator, data={"category": "E0102"})
    case = case_transition(case=case, action=Action.DISPATCH, actor=dispatcher, data={"department": "chengguan"})
    case = case_transition(case=case, action=Action.SIGN, actor=department)
    case = case_transition(case=case, action=Action.RESPOND, actor=department, data={"result": "已清运。"})
    return case_transition(case=case, action=Action.VERIFY, actor=dispatcher, data={"passed": True})


def test_unsatisfied_rating_to_reopen_to_callback_in_the_browser(browser, live_server, district):
    base = live_server.url
    operator = UserFactory(username="operator", role="operator", password=PASSWORD)
    dispatcher = UserFactory(username="dispatcher", role="dispatcher", password=PASSWORD)
    dept_user = UserFactory(username="dept-chengguan", role="department", password=PASSWORD,
                            department=Department.objects.get(code="chengguan"))
    case = closed_case(operator, dispatcher, dept_user)
    assert case.callback_status == "pending"

    # The citizen rates the result 不满意 on the tracking page.
    citizen = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN").new_page()
    citizen.goto(f"{base}/track/?code={case.tracking_code}")
    citizen.locator("input[name=satisfaction][value=unsatisfied]").check()
    citizen.fill("textarea[name=comment]", "垃圾只清了一半，东门外还有。")
    citizen.click("#rate button[type=submit]")
    citizen.wait_for_load_state("networkidle")
    case = wait_for(case, lambda c: c.citizen_satisfaction == "unsatisfied")
    assert case.satisfaction == "unsatisfied" and case.review_status == "pending" and case.callback_status == "done"
    assert "您的评价" in citizen.locator("body").inner_text()

    # The dispatcher finds it in the 不满意复核 tab, with the citizen's words, and reopens it.
    desk = login(browser, base, "dispatcher")
    desk.goto(f"{base}/desk/dispatcher/?tab=review")
    row = desk.locator(f"tr[data-case='{case.number}']")
    assert "垃圾只清了一半" in row.inner_text()
    row.locator("[data-action-loader=reopen]").click()
    form = desk.locator(f"#slot-{case.number} form[data-action=reopen]")
    form.locator("textarea[name=note]").fill("市民反映仍有垃圾，请彻底清运。")
    with desk.expect_response(lambda r: r.request.method == "POST" and "/actions/reopen/" in r.url) as answer:
        form.locator("button[type=submit]").click()
    assert answer.value.status < 400
    case = wait_for_status(case, "dispatched")
    assert case.department.code == "chengguan" and not case.satisfaction and case.callback_status == ""

    # The department signs and responds again; the dispatcher verifies.
    department = login(browser, base, "dept-chengguan")
    act(department, base, case, "sign")
    case = wait_for_status(case, "in_progress")
    act(department, base, case, "respond", lambda f: f.locator("textarea[name=result]").fill("已彻底清运，东门外已清理干净。"))
    case = wait_for_status(case, "responded")
    act(desk, base, case, "verify", lambda f: f.locator("input[name=passed][value=true]").check())
    case = wait_for_status(case, "closed")
    assert case.callback_status == "pending"

    # The operator calls back from the queue: phone and result on the row, one click records 满意.
    seat = login(browser, base, "operator")
    seat.goto(f"{base}/desk/operator/?tab=callback")
    row = seat.locator(f"tr[data-case='{case.number}']")
    text = row.inner_text()
    assert "13900001111" in text and "已彻底清运" in text
    with seat.expect_response(lambda r: r.request.method == "POST" and "/actions/callback/" in r.url) as answer:
        row.locator("form[data-outcome=satisfied] button").click()
    assert answer.value.status < 400
    case = wait_for(case, lambda c: c.satisfaction == "satisfied")
    assert case.citizen_satisfaction == "unsatisfied" and case.satisfaction_source == "callback"

    actions = read(lambda: list(case.events.values_list("action", flat=True)))
    assert actions[-7:] == ["verify", "rate", "reopen", "sign", "respond", "verify", "callback"]
