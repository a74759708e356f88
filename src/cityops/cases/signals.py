"""Signals other apps listen to (routing, webhooks, analytics). Sent after the transaction commits."""

from django.dispatch import Signal

# Sent with case=<Case>, event=<CaseEvent> after a case was created or changed state.
case_event_committed = Signal()
