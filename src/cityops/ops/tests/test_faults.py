"""Faults, on the real services (PostgreSQL and Redis; skipped when they are not reachable,
run by CI's PostgreSQL pass):

* Redis down: the web keeps taking cases; when it is back, a worker catches up (SLA
  transitions and notifications of the cases taken meanwhile, each exactly once).
* A worker killed (SIGKILL) in the middle of the SLA scan: the task comes back from the
  broker, runs again on another worker, and every case changes once.
* PostgreSQL connections cut during load (pg_terminate_backend on this test database only,
  the way a restart looks to the application): requests in flight answer 503, none is
  half-written, and the service resumes by itself.

Workers and gunicorn are real processes pointed at the test database; each test uses its own
queue and key prefix in Redis, so nothing else on the machine is touched.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from cityops.cases.models import Case, CaseEvent, Notification, SlaLevel
from cityops.cases.states import Action, Status
from cityops.testing.square import case_body as report

pytestmark = [pytest.mark.services, pytest.mark.postgres_only]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))


def database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def wait_for(predicate, timeout: float, what: str, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class Broker:
    """A private corner of the real Redis: its own queue name and key prefix."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.tag = uuid.uuid4().hex[:10]
        self.queue = f"cityops-test-{self.tag}"
        self.prefix = f"cityops-test-{self.tag}:"
        self.workers: list[subprocess.Popen] = []
        from celery import Celery

        self.producer = Celery("cityops-test-producer", broker=url, set_as_current=False)
        self.producer.conf.broker_transport_options = {"global_keyprefix": self.prefix}
        self.producer.conf.task_default_queue = self.queue

    def env(self) -> dict:
        env = dict(os.environ)
        env.update({
            "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": database_url(), "REDIS_URL": self.url,
            "CELERY_QUEUE": self.queue, "CELERY_KEY_PREFIX": self.prefix, "CELERY_VISIBILITY_TIMEOUT": "3",
            "CELERY_UNACKED_RESTORE_INTERVAL": "1", "CELERY_UNACKED_RESTORE_THROTTLE": "1",
            "PYTHONPATH": os.pathsep.join([os.path.join(ROOT, "src"), ROOT]),
        })
        return env

    def start_worker(self) -> subprocess.Popen:
        cmd = [sys.executable, "-m", "celery", "-A", "cityops.ops.tests.celery_app", "worker", "--loglevel", "WARNING",
               "--concurrency", "1", "--without-gossip", "--without-mingle", "--without-heartbeat",
               "--hostname", f"test-{self.tag}-{len(self.workers)}@%h"]
        proc = subprocess.Popen(cmd, env=self.env(), cwd=ROOT, start_new_session=True)
        self.workers.append(proc)
        return proc

    def send(self, name: str, **kwargs) -> None:
        self.producer.send_task(name, kwargs=kwargs, queue=self.queue)

    def kill(self, proc: subprocess.Popen) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def close(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    self.kill(proc)
        import redis

        client = redis.Redis.from_url(self.url)
        keys = list(client.scan_iter(f"{self.prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture
def broker(real_services):
    b = Broker(real_services)
    yield b
    b.close()


def make_overdue(cases: list[Case]) -> None:
    """Time passes: the cases are now past their deadline (their clocks kept running)."""
    now = timezone.now()
    Case.objects.filter(pk__in=[c.pk for c in cases]).update(
        status=Status.IN_PROGRESS, stage="handle", deadline=now - timedelta(hours=1), warn_at=now - timedelta(hours=2),
        sla_level=SlaLevel.GREEN,
    )


def test_redis_down_the_web_takes_cases_and_the_jobs_catch_up_when_it_returns(broker, operator_api, people, category, district, department, settings):
    # Redis down, as the web sees it: nothing listens where the cache and the broker are.
    settings.CACHES = {"default": {"BACKEND": "cityops.ops.cache.ResilientRedisCache", "LOCATION": "redis://127.0.0.1:1/0",
                                   "OPTIONS": {"socket_connect_timeout": 0.2}}}
    taken = []
    for i in range(6):
        t0 = time.perf_counter()
        response = operator_api.post("/cases", report(category, description=f"路灯不亮 {i}"))
        assert response.status_code == 201, response.content
        if i:  # after the cold first request, a dead Redis costs no waiting per request
            assert time.perf_counter() - t0 < 3
        taken.append(response.json()["number"])
    cases = list(Case.objects.filter(number__in=taken))
    assert len(cases) == 6
    Case.objects.filter(pk__in=[c.pk for c in cases]).update(department=department)
    make_overdue(cases)

    # Redis is back: a worker starts and beat's next ticks arrive.
    broker.start_worker()
    broker.send("cityops.sla_scan")
    broker.send("cityops.sla_scan")  # a late duplicate tick changes nothing
    wait_for(lambda: Case.objects.filter(pk__in=[c.pk for c in cases], sla_level=SlaLevel.RED).count() == 6, 120, "the SLA scan")
    wait_for(lambda: Notification.objects.filter(recipient=people["dept"], case__in=cases).count() == 6, 30, "notifications")
    time.sleep(2)
    for case in cases:
        assert CaseEvent.objects.filter(case=case, action=Action.SLA_OVERDUE).count() == 1
    assert Notification.objects.filter(recipient=people["dispatcher"], case__in=cases, kind="sla_overdue").count() == 6
    assert Notification.objects.filter(recipient=people["dept"], case__in=cases, kind="sla_overdue").count() == 6


def test_a_worker_killed_mid_scan_is_retried_and_changes_each_case_once(broker, people, category, department):
    now = timezone.now()
    template = Case(
        channel="hotline", case_type="complaint", urgency="normal", description="压测", status=Status.IN_PROGRESS,
        stage="handle", stage_unit="work_day", deadline=now - timedelta(hours=1), warn_at=now - timedelta(hours=2),
        sla_level=SlaLevel.GREEN, department=department, category=category, created_at=now - timedelta(days=3),
    )
    total = 1200
    rows = []
    for i in range(total):
        case = Case(**{f.attname: getattr(template, f.attname) for f in Case._meta.concrete_fields if f.attname != "id"})
        case.number = f"KILL-{i:05d}"
        case.tracking_code = f"K{i:09d}"
        rows.append(case)
    Case.objects.bulk_create(rows, batch_size=500)
    ids = list(Case.objects.filter(number__startswith="KILL-").values_list("pk", flat=True))

    first = broker.start_worker()
    broker.send("cityops.tests.slow_sla_scan", batch=100, pause=0.5)
    reds = lambda: Case.objects.filter(pk__in=ids, sla_level=SlaLevel.RED).count()  # noqa: E731
    wait_for(lambda: reds() >= 200, 180, "the scan to be under way")
    broker.kill(first)  # SIGKILL to the worker and its child, in the middle of the scan
    partial = reds()
    assert 0 < partial < total

    broker.start_worker()  # the message comes back after the visibility timeout and runs again
    wait_for(lambda: reds() == total, 180, "the retried scan to finish")
    time.sleep(1)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT case_id FROM cases_caseevent WHERE action = 'sla_overdue' AND case_id = ANY(%s) "
            "GROUP BY case_id HAVING count(*) > 1) d", [ids],
        )
        assert cursor.fetchone()[0] == 0
    assert CaseEvent.objects.filter(case_id__in=ids, action=Action.SLA_OVERDUE).count() == total
    assert Notification.objects.filter(recipient=people["dept"], case_id__in=ids).count() == total
    assert Notification.objects.filter(recipient=people["dispatcher"], case_id__in=ids).count() == total


def test_database_connections_cut_during_load_answer_503_and_the_service_resumes(real_services, people, category, district):
    from cityops.api.tokens import token_issue
    from cityops.ops import benchtools

    token = token_issue(user=people["operator"]).token
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"}
    counter = iter(range(10**6))

    def create() -> bytes:
        body = report(category, description=f"井盖缺失 {next(counter)}", external_id=uuid.uuid4().hex)
        return benchtools.http_request("POST", "/api/v1/cases", json.dumps(body, ensure_ascii=False).encode(), headers)

    server = benchtools.Server(database_url(), workers=2, threads=2, extra_env={"REDIS_URL": real_services, "DB_CONN_MAX_AGE": "60"})
    with server:
        assert benchtools.run_load(server.port, create, clients=2, seconds=2, warmup=0).ok > 0  # warm
        stop = threading.Event()
        cuts = []
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            own_pid = cursor.fetchone()[0]  # this test's own connection stays

        def cut_connections() -> None:
            import psycopg

            with psycopg.connect(database_url(), autocommit=True) as admin:
                while not stop.is_set():
                    rows = admin.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> %s "
                        "AND backend_type = 'client backend'", [own_pid],
                    ).fetchall()
                    cuts.append(len(rows))
                    time.sleep(0.15)

        cutter = threading.Thread(target=cut_connections, daemon=True)
        cutter.start()
        during = benchtools.run_load(server.port, create, clients=4, seconds=6, warmup=0)
        stop.set()
        cutter.join(10)
        after = benchtools.run_load(server.port, create, clients=2, seconds=3, warmup=1)

    assert sum(cuts) > 0
    assert set(during.statuses) <= {201, 503}, during.statuses  # never a 500
    assert during.statuses.get(503, 0) > 0, during.statuses
    assert during.errors == 0
    assert set(after.statuses) == {201}, after.statuses  # resumed by itself
    assert after.ok > 0
    # None half-written: every case has its create event, every event its case.
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM cases_case c WHERE NOT EXISTS "
                       "(SELECT 1 FROM cases_caseevent e WHERE e.case_id = c.id AND e.action = 'create')")
        assert cursor.fetchone()[0] == 0
    assert Case.objects.count() >= during.statuses.get(201, 0) + after.ok
