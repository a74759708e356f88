"""The SLA conditions on cases, one expression each: open, overdue (red), near due (yellow).

`Case.objects.overdue(now)` and friends for querysets of cases; the `*_q` functions for the
same condition inside an aggregate (`Count(..., filter=overdue_q(now))`) or on a table that
mirrors the case clock under other names (analytics' open-case snapshot passes its own
`running`). The level of one case in Python is `cases.sla.level_at` / `current_level`; these
say the same thing to the database: red once `deadline <= now`, yellow from `warn_at` until
then, and a paused clock is neither (it keeps the level it stopped with).
"""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Q

from cityops.cases.states import OPEN_STATUSES

#: Open cases whose clock runs: the only ones that can turn yellow or red by time alone.
RUNNING = Q(status__in=OPEN_STATUSES, clock_paused_at__isnull=True)


def overdue_q(now: datetime, *, running: Q = RUNNING) -> Q:
    """Past the running stage's deadline at `now` (已超期, red)."""
    return running & Q(deadline__lte=now)


def near_due_q(now: datetime, *, running: Q = RUNNING) -> Q:
    """Past the 80 % point and not yet due (即将超期, yellow)."""
    return running & Q(warn_at__lte=now, deadline__gt=now)


def on_time_q(now: datetime) -> Q:
    """Open and before the 80 % point (正常, green)."""
    return Q(status__in=OPEN_STATUSES, warn_at__gt=now)


class CaseQuerySet(models.QuerySet):
    def open(self) -> CaseQuerySet:
        """Not closed and not rejected (未办结)."""
        return self.filter(status__in=OPEN_STATUSES)

    def overdue(self, now: datetime) -> CaseQuerySet:
        """Open, clock running, deadline passed (已超期)."""
        return self.filter(overdue_q(now))

    def not_overdue(self, now: datetime) -> CaseQuerySet:
        """Everything `overdue(now)` leaves out (closed, paused, on time or without a clock)."""
        return self.exclude(overdue_q(now))

    def near_due(self, now: datetime) -> CaseQuerySet:
        """Open, clock running, past the warning point and not yet due (即将超期)."""
        return self.filter(near_due_q(now))

    def on_time(self, now: datetime) -> CaseQuerySet:
        """Open and before the warning point (正常)."""
        return self.filter(on_time_q(now))

    def needs_attention(self, now: datetime) -> CaseQuerySet:
        """Open cases whose clock is yellow or red now (超期看板); a paused clock keeps the level
        it had when it stopped."""
        from cityops.cases.models import SlaLevel

        return self.filter(
            Q(status__in=OPEN_STATUSES)
            & (Q(clock_paused_at__isnull=True, warn_at__lte=now)
               | Q(clock_paused_at__isnull=False, sla_level__in=[SlaLevel.YELLOW, SlaLevel.RED]))
        )

    def at_level(self, level: str, now: datetime) -> CaseQuerySet:
        """The open cases the case list shows for an SLA level (green / yellow / red)."""
        from cityops.cases.models import SlaLevel

        by_level = {SlaLevel.RED.value: self.overdue, SlaLevel.YELLOW.value: self.near_due, SlaLevel.GREEN.value: self.on_time}
        select = by_level.get(str(level))
        if select is None:
            raise ValueError(f"unknown SLA level {level!r}")
        return select(now)


CaseManager = models.Manager.from_queryset(CaseQuerySet)
