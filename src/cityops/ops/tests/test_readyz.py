"""Finding 9: /readyz answers anyone, so it says status words only — never the database's
error text (host names, addresses, user names, versions)."""

import pytest
from django.db import OperationalError
from django.test import Client

from cityops.ops import views

pytestmark = pytest.mark.django_db

LEAKY = (
    'connection to server at "db1.internal.example" (10.2.3.4), port 5432 failed: '
    'FATAL: password authentication failed for user "cityops_prod"'
)
STATUS_WORDS = {"ok", "unavailable", "not_configured"}


class _DownConnection:
    def cursor(self):
        raise OperationalError(LEAKY)


def test_an_unavailable_database_is_reported_by_status_words_only(monkeypatch, caplog):
    monkeypatch.setattr(views, "connection", _DownConnection())
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert set(body) == {"database", "redis", "status", "elapsed_ms"}
    assert {body["database"], body["redis"], body["status"]} <= STATUS_WORDS
    content = response.content.decode()
    for secret in ("db1.internal", "10.2.3.4", "cityops_prod", "password", "5432"):
        assert secret not in content
    assert "db1.internal" in caplog.text  # the reason goes to the server's log instead


def test_job_states_are_shown_as_status_words(db):
    from django.utils import timezone

    from cityops.ops.models import JobRun

    JobRun.objects.create(name="sla_scan", last_status="ok", last_ok_at=timezone.now())
    JobRun.objects.create(name="fanout", last_status="Traceback: db1", last_error="secret")
    jobs = Client().get("/readyz").json()["jobs"]
    assert jobs["sla_scan"]["status"] == "ok"
    assert jobs["fanout"] == {"last_ok_at": None, "status": "unknown"}
