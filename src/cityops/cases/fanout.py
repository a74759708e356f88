"""After a case event commits, other apps do their part: the analytics rollups and open-case
snapshot, routing's duplicate index and auto-dispatch, webhook delivery rows. They listen to
`signals.case_events_committed`, which carries a *batch* of (case, event) pairs.

Two modes (`settings.CITYOPS_EVENT_FANOUT`):

* "inline" (the embedded default and the tests): the signal is sent right after the event's
  transaction commits, with a batch of one, in the request that made the change.
* "deferred" (production): the event's transaction also writes a `PendingFanout` row — a
  transactional outbox, so no committed event can be skipped — and `fan_out_pending()`
  (the periodic job "fanout", every second on the workers, or `cityops fanout --follow`)
  sends the signal for up to `BATCH` events at a time. A batch costs the listeners about what
  one event did (one upsert for all rollup keys, one for all index rows), and the request no
  longer waits for any of it.

`fan_out_pending` claims its rows with `SELECT … FOR UPDATE SKIP LOCKED` and deletes them in
the transaction that sends the signal: two workers never take the same event, and a worker
killed mid-batch rolls back, leaving the rows for the next run — each event's effects happen
once. Listeners see the case as it is when the batch runs (it may have moved on since the
event); they count from the event's own fields where that matters. What must record the case
as the event left it listens to `signals.case_event_recorded` instead, which `announce` sends
inside the event's own transaction (webhook deliveries: `api/webhooks.py`).
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from cityops.cases.models import Case, CaseEvent, PendingFanout
from cityops.cases.signals import case_event_recorded, case_events_committed

INLINE = "inline"
DEFERRED = "deferred"
BATCH = 500


def mode() -> str:
    return DEFERRED if settings.CITYOPS_EVENT_FANOUT == DEFERRED else INLINE


def announce(case: Case, event: CaseEvent) -> None:
    """Call inside the transaction that wrote `event`, with the case as that event left it.

    `case_event_recorded` goes out at once, inside the transaction, so outboxes that record
    the case as it was (webhook payloads) see this state and not a later one."""
    case_event_recorded.send(sender=Case, case=case, event=event)
    if mode() == DEFERRED:
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {PendingFanout._meta.db_table} (event_id) VALUES (%s)", [event.pk])
    else:
        transaction.on_commit(lambda: case_events_committed.send(sender=Case, items=[(case, event)]))


def _claim(limit: int) -> list[int]:
    qs = PendingFanout.objects.order_by("event_id").values_list("event_id", flat=True)
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True)
    return list(qs[:limit])


def fan_out_batch(limit: int = BATCH) -> int:
    """Send the signal for up to `limit` pending events, oldest first; returns how many."""
    with transaction.atomic():
        ids = _claim(limit)
        if not ids:
            return 0
        events = list(
            CaseEvent.objects.filter(pk__in=ids)
            .select_related("case", "case__category", "case__department", "case__street", "case__community", "case__grid")
            .order_by("pk")
        )
        if events:
            case_events_committed.send(sender=Case, items=[(event.case, event) for event in events])
        PendingFanout.objects.filter(event_id__in=ids).delete()
    return len(ids)


def fan_out_pending(*, max_seconds: float = 50.0, limit: int = BATCH) -> dict[str, Any]:
    """Drain the outbox (or work for `max_seconds`, leaving the rest to the next run)."""
    started = time.monotonic()
    events = batches = 0
    while time.monotonic() - started < max_seconds:
        done = fan_out_batch(limit)
        events += done
        batches += 1 if done else 0
        # A batch that was not full emptied the outbox; what arrives meanwhile waits for the
        # next run, in a batch of useful size (chasing each new event costs a batch apiece).
        if done < limit:
            break
    return {"events": events, "batches": batches}


def pending_count() -> int:
    return PendingFanout.objects.count()
