"""Helpers of the browser tests (the fixtures are in conftest.py): the demo password and street,
ORM reads that wait out SQLite's lock, waiting for a case's status, logging in, acting on a case."""

import time

from django.db import OperationalError

from cityops.cases.models import Case

PASSWORD = "Demo-pass-123"
STREET = "630102001"


def read(fn, attempts: int = 100):
    """Run an ORM read, retrying while the live server's thread holds SQLite's shared-cache table lock."""
    for _ in range(attempts):
        try:
            return fn()
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(0.05)
    return fn()


def wait_for(case: Case, predicate, timeout: float = 15) -> Case:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        read(case.refresh_from_db)
        if predicate(case):
            return case
        time.sleep(0.1)
    raise AssertionError(f"case {case.number} did not reach the expected state (status {case.status})")


def wait_for_status(case: Case, status: str) -> Case:
    return wait_for(case, lambda c: c.status == status)


def login(browser, base: str, username: str):
    page = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN").new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page


def act(page, base: str, case: Case, action: str, fill=None):
    page.goto(f"{base}/cases/{case.number}/")
    form = page.locator(f"form[data-action={action}]")
    box = form.locator("xpath=ancestor::details[1]")
    if box.count() and box.get_attribute("open") is None:
        box.locator("summary").click()
    if fill:
        fill(form)
    # Wait until the server has answered (and committed) before the test reads the database again:
    # a read from this thread during the server's write would make SQLite refuse the write.
    with page.expect_response(lambda r: r.request.method == "POST" and f"/actions/{action}/" in r.url) as answer:
        form.locator("button[type=submit]").click()
    assert answer.value.status < 400, f"{action} answered {answer.value.status}"
    page.wait_for_load_state("networkidle")
