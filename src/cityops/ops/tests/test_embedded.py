"""The embedded default as `make run` serves it: a real `cityops serve` process on a copy of
the test database in a SQLite file, its own var directory and a free port.

* The periodic jobs run there: the SLA scan marks an overdue case within a minute and the
  webhook job delivers the case's events to a receiver listening in the test.
* Sixteen writers at once — city orders (some identical), alarms (some repeats of one
  device), 立案 and 派遣 — get no error: SQLite runs in WAL mode with a busy timeout and
  BEGIN IMMEDIATE, so writers queue instead of failing with "database is locked".

They need the SQLite pass of the suite (the copy is taken from its database file in memory).
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from cityops.api.keys import apikey_issue
from cityops.api.models import WebhookSubscription
from cityops.api.tests.service_accounts import service_account
from cityops.api.tokens import token_issue
from cityops.api.webhooks import new_secret
from cityops.cases.models import Case, SlaLevel
from cityops.cases.services import CaseInput, case_create
from cityops.cases.states import Status
from cityops.cases.workflow import case_transition
from cityops.ops import embedded
from cityops.ops.scheduler import FIRST_REQUEST, NOW, install, start_mode
from cityops.testing.square import INSIDE
from cityops.testing.webhooks import WebhookReceiver

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def served_copy(tmp_path):
    """Start `cityops serve` on a copy of the test database as it is now; stopped afterwards."""
    if connection.vendor != "sqlite":
        pytest.skip("the embedded default is SQLite (this runs in the suite's SQLite pass)")
    servers = []

    def start(reload: bool = False, **env) -> embedded.Served:
        database = tmp_path / f"served-{len(servers)}.sqlite3"
        embedded.copy_database(connection, database)
        server = embedded.Served(database=database, var_dir=tmp_path / f"var-{len(servers)}", extra_env=env, reload=reload)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"nothing within {timeout:.0f} s: {what}")


@pytest.mark.parametrize(
    ("argv", "environ", "mode"),
    [
        (["/venv/bin/cityops", "serve", "127.0.0.1:8105"], {}, NOW),  # no auto-reloader unless --reload
        (["/venv/bin/cityops", "serve", "--reload"], {}, FIRST_REQUEST),  # the reloader's parent: never serves
        (["/venv/bin/cityops", "serve", "--reload"], {"RUN_MAIN": "true"}, NOW),  # its serving child
        (["manage.py", "runserver"], {}, FIRST_REQUEST),
        (["manage.py", "runserver"], {"RUN_MAIN": "true"}, NOW),
        (["manage.py", "runserver", "--noreload"], {}, NOW),
        (["/venv/bin/gunicorn", "config.wsgi"], {}, FIRST_REQUEST),  # in the worker, not a preloading master
        (["/venv/bin/cityops", "migrate"], {"RUN_MAIN": "true"}, None),
        (["/venv/bin/pytest", "serve"], {}, None),
        (["/venv/bin/celery", "-A", "config.celery", "beat"], {}, None),
    ],
)
def test_the_schedule_runs_in_the_process_that_serves(argv, environ, mode):
    assert start_mode(argv, environ) == mode


def test_no_in_process_schedule_where_celery_beat_schedules(settings):
    settings.CITYOPS_INPROCESS_SCHEDULER = False  # what REDIS_URL implies
    assert install(["/venv/bin/gunicorn", "config.wsgi"], {}) is None


def test_cityops_serve_runs_the_sla_scan_and_delivers_webhooks_within_a_minute(served_copy, people, category, district, department):
    case = case_create(data=CaseInput(description="人行道井盖缺失，存在安全隐患", category=category.code, **INSIDE), actor_label="test")
    now = timezone.now()
    Case.objects.filter(pk=case.pk).update(
        status=Status.IN_PROGRESS, stage="handle", department=department, deadline=now - timedelta(hours=1),
        warn_at=now - timedelta(hours=2), sla_level=SlaLevel.GREEN,
    )
    receiver = WebhookReceiver()
    try:
        # A service account of role system that sees every case; the receiver's host listed, plain http allowed.
        WebhookSubscription.objects.create(name="测试订阅", account=service_account("leader"), url=receiver.url, events=["*"],
                                           secret=new_secret(), created_at=now - timedelta(days=1))
        server = served_copy(CITYOPS_WEBHOOK_ALLOWED_HOSTS="127.0.0.1", CITYOPS_WEBHOOK_REQUIRE_HTTPS="0")
        types = lambda: {(d["case"]["number"], d["type"]) for d in receiver.payloads()}  # noqa: E731
        wait_for(lambda: (case.number, "case.overdue") in types(), 60, "the overdue mark delivered as a webhook")
        assert (case.number, "case.created") in types()
        level = embedded.read_rows(server.database, "SELECT sla_level FROM cases_case WHERE id = ?", [case.pk])
        assert level == [(SlaLevel.RED,)]
        runs = dict(embedded.read_rows(server.database, "SELECT name, runs FROM ops_jobrun WHERE last_status = 'ok'"))
        assert runs.get("sla_scan", 0) >= 1 and runs.get("webhooks", 0) >= 1
    finally:
        receiver.close()


WRITERS = 16
ROUNDS = 6


def test_sixteen_concurrent_writers_on_the_embedded_default_get_no_error(served_copy, people, category, district, department):
    system = apikey_issue(name="并发测试", role="system").key
    operator = token_issue(user=people["operator"]).token
    dispatcher = token_issue(user=people["dispatcher"]).token
    point = {"lon": INSIDE["lon"], "lat": INSIDE["lat"]}
    # Cases for the 立案 / 派遣 writers, one per request.
    waiting = [
        case_create(data=CaseInput(description=f"路灯不亮 {i}", category=category.code, **INSIDE), actor_label="test").number
        for i in range(4 * ROUNDS)
    ]
    key = {"X-API-Key": system}
    work = []
    for writer in range(WRITERS):
        items = []
        for r in range(ROUNDS):
            if writer < 6:  # city orders; writers 0-2 send the same orders at the same time
                order = f"SH-{r}" if writer < 3 else f"SH-{writer}-{r}"
                items.append(("city", "POST", "/api/v1/intake/city", {"order_no": order, "description": f"垃圾未清运 {order}"}, key))
            elif writer < 12:  # alarms; writers 6-8 repeat one device's alarm
                device = "CAM-SAME" if writer < 9 else f"CAM-{writer}"
                items.append(("alarm", "POST", "/api/v1/intake/alarm",
                              {"device_id": device, "event_type": f"overflow_{r}", **point}, key))
            elif writer < 14:  # 立案 of a case of its own each time
                number = waiting[(writer - 12) * ROUNDS + r]
                items.append(("register", "POST", f"/api/v1/cases/{number}/actions/register", {},
                              {"Authorization": f"Bearer {operator}"}))
            else:  # 派遣 of the other cases (registered first, below)
                number = waiting[(writer - 12) * ROUNDS + r]
                items.append(("dispatch", "POST", f"/api/v1/cases/{number}/actions/dispatch",
                              {"department": department.code}, {"Authorization": f"Bearer {dispatcher}"}))
        work.append(items)
    for number in waiting[2 * ROUNDS:]:  # the dispatch writers' cases are registered beforehand
        case_transition(case=Case.objects.get(number=number), action="register", actor=people["operator"])

    server = served_copy()
    load = embedded.fire(server.port, work)

    assert [(o.kind, o.status, o.body[:200]) for o in load.errors] == []
    assert len(load.outcomes) == WRITERS * ROUNDS
    rows = embedded.read_rows(server.database, "SELECT external_id FROM cases_case WHERE channel = 'city_platform'")
    assert len(rows) == len({r[0] for r in rows}) == ROUNDS + 3 * ROUNDS  # identical orders made one case each
    statuses = dict(embedded.read_rows(
        server.database, f"SELECT number, status FROM cases_case WHERE number IN ({','.join('?' * len(waiting))})", waiting))
    assert {statuses[n] for n in waiting[: 2 * ROUNDS]} == {Status.REGISTERED}
    assert {statuses[n] for n in waiting[2 * ROUNDS:]} == {Status.DISPATCHED}
