"""Signals other apps listen to (routing, webhooks, analytics). See `cases.fanout` for when
they are sent."""

from django.dispatch import Signal

# Sent with items=[(<Case>, <CaseEvent>), …] (oldest event first) once the events have
# committed: right after commit with one item, or in batches from the outbox (`cases.fanout`).
case_events_committed = Signal()

# Sent with case=<Case>, event=<CaseEvent> INSIDE the transaction that writes the event, with
# the case exactly as that event left it: for outboxes that must record the case as it was
# (webhook payloads). Receivers write rows in the same transaction and must stay cheap.
case_event_recorded = Signal()

# Sent once after a bulk import has committed (`intake.imports`): import_id=str,
# case_ids=list[int]. The imported cases send no case_events_committed (see imports.py).
cases_imported = Signal()
