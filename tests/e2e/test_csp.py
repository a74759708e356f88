"""The Content-Security-Policy holds in a real browser: every main page, opened by every demo
role, loads its scripts, draws its charts and answers htmx without a single CSP violation."""

import pytest

from cityops.accounts.demo import CENTER_ACCOUNTS
from tests.e2e.support import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PUBLIC_PAGES = ["/report/", "/track/", "/login/"]
# Pages outside the menus, each opened by one role that may see it (the menus are walked per role).
EXTRA_PAGES = {
    "operator": ["/cases/{number}/", "/notifications/", "/import/"],
    "dispatcher": ["/cases/{number}/"],
    "inspector": ["/m/", "/m/tasks/", "/m/mine/"],
    "leader": ["/cases/", "/bigscreen/", "/reports/generate/?kind=weekly&format=html"],
    "sysadmin": ["/admin/", "/admin/accounts/user/", "/api/docs"],
}
# Pages that fetch JSON and draw charts after the load event.
FETCHING_PAGES = ("/dashboard/", "/bigscreen/", "/assessment/", "/cases/CD", "/api/docs")
# Every violation the page reports, including ones the console would only show as warnings.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.sourceFile + ":" + e.lineNumber);
});
"""


class Watcher:
    """Collects CSP violations, console errors and uncaught exceptions of one page."""

    def __init__(self, page):
        self.page = page
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))

    def _console(self, message):
        if message.type == "error" and "Content Security Policy" in message.text:
            self.problems.append(f"console: {message.text}")

    def visit(self, url: str) -> None:
        response = self.page.goto(url, wait_until="load")
        assert response is not None and response.status < 500, f"{url} answered {response and response.status}"
        if any(marker in url for marker in FETCHING_PAGES):
            # These draw after fetching their data: let that finish (and fail) before reading.
            self.page.wait_for_load_state("networkidle")
        self.check(url)

    def check(self, where: str) -> None:
        violations = self.page.evaluate("window.__csp || []")
        found = self.problems + [f"violation: {v}" for v in violations]
        self.problems = []
        assert not found, f"{where}: " + "; ".join(found)


def open_page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    context.add_init_script(RECORD_VIOLATIONS)
    return context, Watcher(context.new_page())


def test_public_pages_load_without_csp_violations(browser, live_server, demo_site):
    context, watcher = open_page(browser)
    for path in PUBLIC_PAGES:
        watcher.visit(live_server.url + path)
    watcher.visit(f"{live_server.url}/track/?code={demo_site.tracking_code}")
    context.close()


def log_in(watcher, base: str, username: str) -> None:
    page = watcher.page
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/login/" not in page.url, f"{username} could not log in"
    watcher.check(f"{username}'s login")


def test_every_role_walks_its_menu_without_csp_violations(browser, live_server, demo_site):
    base = live_server.url
    roles = [a.username for a in CENTER_ACCOUNTS] + ["dept-chengguan"]
    seen: set[str] = set()
    for username in roles:
        context, watcher = open_page(browser)
        log_in(watcher, base, username)
        menu = watcher.page.eval_on_selector_all("nav.mainnav a", "links => links.map(a => a.getAttribute('href'))")
        extra = [p.format(number=demo_site.number) for p in EXTRA_PAGES.get(username, [])]
        for path in dict.fromkeys(menu + extra):
            watcher.visit(base + path)
            seen.add(path)
        context.close()
    # The walk really covered the main pages.
    for path in ("/dashboard/", "/bigscreen/", "/cases/", "/import/", "/m/", "/admin/"):
        assert path in seen, path


def test_chart_tooltips_and_htmx_swaps_keep_to_the_policy(browser, live_server, demo_site):
    context, watcher = open_page(browser)
    page = watcher.page
    log_in(watcher, live_server.url, "leader")

    watcher.visit(f"{live_server.url}/dashboard/")
    charts = page.locator("canvas")
    assert charts.count() > 0, "the dashboard drew no chart"
    for i in range(min(charts.count(), 6)):  # hovering opens ECharts' HTML tooltips
        box = charts.nth(i).bounding_box()
        if box and box["width"] > 20:
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.wait_for_timeout(150)
    watcher.check("dashboard tooltips")

    # htmx: the filter form swaps the case table in place.
    watcher.visit(f"{live_server.url}/cases/")
    with page.expect_response(lambda r: "/cases/" in r.url and r.request.headers.get("hx-request") == "true"):
        page.locator("form.filters input[type=search]").first.fill("垃圾")
    page.wait_for_load_state("networkidle")
    watcher.check("case list htmx swap")
    context.close()
