"""The big screen updates itself: a case reported while the page is open shows in its live
ticker, marked new, within 10 seconds and without a reload."""

import time

import pytest
from django.db import OperationalError
from shapely.geometry import shape

from cityops.analytics.models import BigScreenSession
from cityops.cases.services import CaseInput, case_create
from cityops.geo.models import UnitGrid
from tests.e2e.conftest import PASSWORD, STREET

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def while_the_server_works(fn, attempts: int = 100):
    """The live server shares SQLite's in-memory database, locked table by table: retry what meets its lock."""
    for _ in range(attempts):
        try:
            return fn()
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(0.05)
    raise AssertionError("the database stayed locked")


def test_a_new_case_appears_on_the_open_big_screen_within_ten_seconds(browser, live_server, demo_site):
    page = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN").new_page()
    page.goto(f"{live_server.url}/login/?next=/bigscreen/")
    page.fill("#id_username", "leader")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/bigscreen/")
    page.wait_for_selector(f"[data-ticker] li[data-number='{demo_site.number}']")
    page.wait_for_load_state("networkidle")
    assert while_the_server_works(BigScreenSession.objects.exists), "opening the big screen is recorded"

    point = shape(UnitGrid.objects.filter(street__code=STREET).last().boundary).representative_point()
    report = CaseInput(description="广场东侧消防通道被车辆堵塞，请尽快处理。", lon=point.x, lat=point.y)
    case = while_the_server_works(lambda: case_create(data=report, actor_label="12345 热线"))
    shown = time.monotonic()
    row = page.wait_for_selector(f"[data-ticker] li[data-number='{case.number}']", timeout=10_000)
    assert time.monotonic() - shown <= 10
    assert "is-new" in (row.get_attribute("class") or "")
    assert page.url == f"{live_server.url}/bigscreen/", "no reload"
