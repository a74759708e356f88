"""Signals other apps listen to (routing, webhooks, analytics). See `cases.fanout` for when
they are sent."""

from django.dispatch import Signal

# Sent with items=[(<Case>, <CaseEvent>), …] (oldest event first) once the events have
# committed: right after commit with one item, or in batches from the outbox (`cases.fanout`).
case_events_committed = Signal()
