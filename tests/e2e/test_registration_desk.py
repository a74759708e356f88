"""The 立案 form in the browser: hint chips and the searchable category picker, by keyboard."""

import pytest
from shapely.geometry import shape

from cityops.accounts.tests.factories import UserFactory
from cityops.cases.models import Case, Channel
from cityops.cases.services import CaseInput, case_create
from cityops.geo.models import UnitGrid
from tests.e2e.support import STREET, login, read, wait_for_status

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _web_case(text: str) -> Case:
    point = shape(UnitGrid.objects.filter(street__code=STREET).first().boundary).representative_point()
    return case_create(data=CaseInput(description=text, channel=Channel.WEB, lon=point.x, lat=point.y), actor_label="市民")


def _open_register_form(page, base: str, case: Case):
    page.goto(f"{base}/cases/{case.number}/")
    form = page.locator("form[data-action=register]")
    box = form.locator("xpath=ancestor::details[1]")
    if box.count() and box.get_attribute("open") is None:
        box.locator("summary").click()
    return form


def test_operator_picks_a_category_by_keyboard_and_registers(browser, live_server, district):
    UserFactory(username="operator", role="operator", password="Demo-pass-123")
    case = _web_case("人行道上的井盖缺失，晚上有人差点踩空。")
    page = login(browser, live_server.url, "operator")
    form = _open_register_form(page, live_server.url, case)

    search = form.locator("input.catpick-input")
    search.click()
    search.type("井盖")
    options = form.locator(".catpick-list [role=option]")
    options.first.wait_for()
    assert options.count() >= 2 and form.locator(".catpick-group").count() >= 1  # grouped by 大类
    search.press("ArrowDown")
    expected = form.locator(".catpick-option.active").inner_text()
    search.press("Enter")  # picks the highlighted leaf, does not submit
    assert search.input_value() == expected
    code = expected.split()[0]
    assert form.locator("select[name=category]").input_value() == code

    with page.expect_response(lambda r: r.request.method == "POST" and "/actions/register/" in r.url) as answer:
        form.locator("button[type=submit]").click()
    assert answer.value.status < 400
    case = wait_for_status(case, "registered")
    assert read(lambda: case.category.code) == code


def test_a_hint_chip_fills_the_picker(browser, live_server, district):
    UserFactory(username="operator", role="operator", password="Demo-pass-123")
    case = _web_case("小区东门外暴露垃圾成堆，两天无人清运。")
    page = login(browser, live_server.url, "operator")
    form = _open_register_form(page, live_server.url, case)
    chip = form.locator(".register-suggestions [data-pick-category]").first
    chip.click()
    code = chip.get_attribute("data-pick-category")
    assert form.locator("select[name=category]").input_value() == code
    assert form.locator("input.catpick-input").input_value().startswith(code)
