"""Browser tests drive Debian's chromium through Playwright against pytest-django's live server."""

import os
import shutil

import pytest
from shapely.geometry import shape

from cityops.accounts.demo import demo_accounts_ensure
from cityops.accounts.services import roles_sync
from cityops.cases.models import Case
from cityops.cases.services import CaseInput, case_create
from cityops.catalog.services import load_reference_data
from cityops.geo import lookup
from cityops.geo.models import UnitGrid
from cityops.geo.services import generate_demo_partition, load_reference_regions
from tests.e2e.support import PASSWORD, STREET

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

# Playwright runs its own event loop in this thread; Django must allow sync ORM calls from the test.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian chromium is not installed (apt-get install chromium); .ci/run installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def _close_pages_after_each_test(request):
    """Close every page a test opened before its database goes away: a page left open keeps
    polling (the notification bell, htmx refreshes), and the live server would answer it after
    the test, outside any database access ("Database access not allowed")."""
    yield
    if "browser" in request.fixturenames:
        for context in list(request.getfixturevalue("browser").contexts):
            context.close()


@pytest.fixture
def district():
    """One street of the demo district (its synthetic grids), the catalogue and the role groups."""
    load_reference_regions()
    generate_demo_partition(street_codes=[STREET])
    load_reference_data()
    roles_sync()
    lookup.reset_index()
    yield
    lookup.reset_index()


@pytest.fixture
def demo_site(district):
    """The district with the demo accounts (password PASSWORD) and three new cases; yields the first case."""
    demo_accounts_ensure(PASSWORD)
    grid = UnitGrid.objects.filter(street__code=STREET).first()
    point = shape(grid.boundary).representative_point()
    for text in ["小区东门外暴露垃圾成堆，两天无人清运。", "路灯不亮，夜间行人通行不便。", "人行道井盖缺失，存在安全隐患。"]:
        case_create(data=CaseInput(description=text, lon=point.x, lat=point.y), actor_label="test")
    return Case.objects.order_by("id").first()
