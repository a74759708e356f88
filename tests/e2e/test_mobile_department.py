"""The department's phone desk in a 390 px phone browser: sign in lands on it, sign for a case,
report the result with a photo, and no page scrolls sideways."""

import io

import pytest
from PIL import Image

from cityops.accounts.tests.factories import UserFactory
from cityops.cases.models import Attachment
from cityops.cases.states import Action
from cityops.cases.workflow import case_transition
from cityops.catalog.models import Department
from tests.e2e.support import PASSWORD, read, wait_for_status

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 160, 90)).save(buf, format="JPEG")
    return buf.getvalue()


def no_sideways_scroll(page) -> None:
    width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[0] <= width[1], f"{page.url} is {width[0]} px wide in a {width[1]} px screen"


def test_department_desk_on_a_390px_phone(browser, live_server, demo_site):
    base = live_server.url
    chengguan = Department.objects.get(code="chengguan")
    handler = UserFactory(username="dept-phone", role="department", password=PASSWORD, department=chengguan)
    case = case_transition(case=demo_site, action=Action.REGISTER, actor=UserFactory(role="operator"), data={"category": "E0102"})
    case = case_transition(case=case, action=Action.DISPATCH, actor=UserFactory(role="dispatcher"),
                           data={"department": chengguan.code})
    assert handler.department_id == case.department_id

    page = browser.new_context(viewport={"width": 390, "height": 844}, user_agent=PHONE, is_mobile=True,
                               has_touch=True, locale="zh-CN").new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", "dept-phone")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/m/dept/")
    no_sideways_scroll(page)
    assert page.locator(".m-tabbar").is_visible()

    page.click(f"text={case.number}")
    page.wait_for_url(f"{base}/m/dept/{case.number}/")
    no_sideways_scroll(page)
    page.click("button:has-text('签收')")
    page.wait_for_url(f"{base}/m/dept/{case.number}/")
    wait_for_status(case, "in_progress")
    no_sideways_scroll(page)

    respond = page.locator("#action-respond")
    if respond.get_attribute("open") is None:
        respond.locator("summary").click()
    respond.locator("textarea[name=result]").fill("已清运完毕，并增设垃圾桶。")
    respond.locator("input[name=photos]").set_input_files({"name": "after.jpg", "mimeType": "image/jpeg", "buffer": jpeg()})
    no_sideways_scroll(page)
    respond.locator("button[type=submit]").click()
    page.wait_for_url(f"{base}/m/dept/?tab=handling")
    wait_for_status(case, "responded")
    assert read(lambda: Attachment.objects.filter(case=case, kind="after").count()) == 1
    assert case.number in page.locator(".messages").inner_text()
    no_sideways_scroll(page)
