"""The main path through the browser: a citizen reports, the center registers and dispatches,
the department signs and responds, the dispatcher verifies, the operator calls back, and the
citizen sees the case closed."""


import pytest
from shapely.geometry import shape

from cityops.accounts.tests.factories import UserFactory
from cityops.cases.models import Case
from cityops.catalog.models import Department
from cityops.geo.models import UnitGrid
from tests.e2e.support import PASSWORD, STREET, act, login, read, wait_for, wait_for_status

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_report_to_callback_in_the_browser(browser, live_server, district):
    base = live_server.url
    UserFactory(username="operator", role="operator", password=PASSWORD)
    UserFactory(username="dispatcher", role="dispatcher", password=PASSWORD)
    UserFactory(username="dept-chengguan", role="department", password=PASSWORD, department=Department.objects.get(code="chengguan"))
    point = shape(UnitGrid.objects.filter(street__code=STREET).first().boundary).representative_point()

    # A citizen reports on the public page and gets a tracking code.
    citizen = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN").new_page()
    citizen.goto(f"{base}/report/")
    citizen.fill("textarea[name=description]", "小区东门外暴露垃圾成堆，两天无人清运，气味很大。")
    citizen.evaluate(
        "([lon, lat]) => { document.querySelector('input[name=lon]').value = lon; document.querySelector('input[name=lat]').value = lat; }",
        [round(point.x, 6), round(point.y, 6)],
    )
    citizen.fill("input[name=address]", "北关社区东门")
    citizen.fill("input[name=reporter_phone]", "13900001111")  # a reporter with a phone is called back
    citizen.click("button.m-submit")
    code = citizen.locator("#tracking-code").inner_text().strip()
    case = read(lambda: Case.objects.get(tracking_code=code))
    assert case.status == "new" and case.channel == "web" and case.street.code == STREET

    operator = login(browser, base, "operator")
    act(operator, base, case, "register", lambda f: f.locator("select[name=category]").select_option("E0102"))
    case = wait_for_status(case, "registered")

    dispatcher = login(browser, base, "dispatcher")
    act(dispatcher, base, case, "dispatch", lambda f: f.locator("select[name=department]").select_option("chengguan"))
    case = wait_for_status(case, "dispatched")

    department = login(browser, base, "dept-chengguan")
    act(department, base, case, "sign")
    case = wait_for_status(case, "in_progress")
    act(department, base, case, "respond", lambda f: f.locator("textarea[name=result]").fill("已清运完毕，并增设垃圾桶。"))
    case = wait_for_status(case, "responded")

    act(dispatcher, base, case, "verify", lambda f: f.locator("input[name=passed][value=true]").check())
    case = wait_for_status(case, "closed")

    act(operator, base, case, "callback", lambda f: f.locator("input[name=satisfaction][value=satisfied]").check())
    case = wait_for(case, lambda c: c.satisfaction == "satisfied")

    # The citizen follows the case with the code and sees it closed.
    citizen.goto(f"{base}/track/?code={code}")
    body = citizen.locator("body").inner_text()
    assert "已办结" in body and case.number in body
    actions = read(lambda: list(case.events.values_list("action", flat=True)))
    assert actions == ["create", "register", "dispatch", "sign", "respond", "verify", "callback"]
