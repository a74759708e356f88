"""The big screen in a real browser (Debian's chromium through Playwright): a case reported while
the screen is open shows up in its live ticker within ten seconds, without a reload."""

from __future__ import annotations

import os
import time

import pytest

from cityops.accounts.tests.factories import UserFactory
from cityops.analytics.models import BigScreenSession
from cityops.analytics.tests.support import WEST
from cityops.cases.models import Channel
from cityops.cases.services import CaseInput, case_create

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PASSWORD = "Demo-pass-123"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Playwright runs its own event loop in this thread; Django must allow sync ORM calls from the test.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="module")
def chromium():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium): the browser test needs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def test_a_new_case_appears_on_the_big_screen_without_reload(chromium, live_server, district):
    UserFactory(username="leader", role="leader", password=PASSWORD)
    first = case_create(data=CaseInput(description="小区门口垃圾堆放无人清运", channel=Channel.HOTLINE,
                                       lon=WEST[0], lat=WEST[1]))
    page = chromium.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN").new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/login/?next=/bigscreen/")
    page.fill("#id_username", "leader")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/bigscreen/")
    page.wait_for_selector(f'[data-ticker] li[data-number="{first.number}"]')
    assert BigScreenSession.objects.count() == 1
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    started = time.monotonic()
    new = case_create(data=CaseInput(description="路灯一排都不亮，晚上回家很黑", channel=Channel.WEB,
                                     lon=WEST[0], lat=WEST[1]))
    row = page.wait_for_selector(f'[data-ticker] li[data-number="{new.number}"]', timeout=10_000)
    seconds = time.monotonic() - started
    assert seconds <= 10
    assert "is-new" in (row.get_attribute("class") or "")
    assert page.locator('[data-k="today.created"]').first.inner_text() == "2"
    assert navigations == [], "the page reloaded instead of updating in place"
    assert not errors, errors
