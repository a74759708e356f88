"""Writes of the analytics app that other apps and the scheduler call.

`rollup_repair` is the periodic job (the "rollups" job declared in `analytics/plugin.py`): it repairs
the last days of the rollups and the open-case snapshot, then refreshes the hot issues.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from cityops.analytics import rollups
from cityops.analytics.models import BigScreenSession

logger = logging.getLogger("cityops.analytics")

HEARTBEAT_SECONDS = 30


def rollup_repair() -> dict[str, Any]:
    """Periodic job: repair the recent rollups, then recompute the hot issues."""
    from cityops.analytics.hotissues import hot_issues_refresh

    result = rollups.rollup_repair()
    out: dict[str, Any] = {"daily_rows": result.daily_rows, "open_cases": result.open_cases, "seconds": result.seconds}
    try:
        run = hot_issues_refresh()
        out["hot_issues"] = len(run.clusters)
    except Exception:  # the rollups are repaired; a hot-issue failure must not hide that
        logger.exception("hot issue refresh failed")
        out["hot_issues"] = "failed"
    return out


def bigscreen_session_start(*, request: HttpRequest) -> BigScreenSession:
    """Record one opening of the big screen."""
    now = timezone.now()
    return BigScreenSession.objects.create(
        user=request.user if request.user.is_authenticated else None,
        started_at=now, last_seen_at=now,
        user_agent=(request.headers.get("User-Agent") or "")[:200],
    )


def bigscreen_session_touch(*, session_id: int | None, user) -> None:
    """Keep a session alive from the screen's polling (at most one write every HEARTBEAT_SECONDS)."""
    if not session_id:
        return
    now = timezone.now()
    BigScreenSession.objects.filter(
        pk=session_id, user=user, last_seen_at__lt=now - timedelta(seconds=HEARTBEAT_SECONDS)
    ).update(last_seen_at=now, polls=F("polls") + 1)
