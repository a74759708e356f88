"""Many writers append at once: the chain stays one straight line (PostgreSQL row locks)."""

import threading

import pytest
from django.db import connection, connections

from cityops.audit.models import AuditAction, AuditEntry
from cityops.audit.services import audit_record, verify_chain

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]


@pytest.fixture(autouse=True)
def _needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("row-level locking semantics are tested on PostgreSQL")


def test_concurrent_appends_keep_one_chain():
    writers, each = 6, 15
    barrier = threading.Barrier(writers)
    failures: list[BaseException] = []

    def write(n: int) -> None:
        try:
            barrier.wait()
            for i in range(each):
                audit_record(action=AuditAction.EXPORT, actor_label=f"writer{n}", target=f"cases:csv:{i}")
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not failures
    assert AuditEntry.objects.count() == writers * each
    assert AuditEntry.objects.values("prev_hash").distinct().count() == writers * each  # no fork
    assert verify_chain() == (True, None)
