"""In-process schedule for the embedded default (SQLite, no Redis): the same periodic tasks
that Celery beat runs in production, on a daemon thread of the development server."""

from __future__ import annotations

import logging
import threading
import time

from django.db import close_old_connections

log = logging.getLogger(__name__)
_started = False


def _loop(interval: float) -> None:
    from cityops.cases.sla_scan import sla_scan

    while True:
        time.sleep(interval)
        try:
            close_old_connections()
            result = sla_scan()
            if result.turned_red or result.turned_yellow:
                log.info("SLA scan: %s yellow, %s red", result.turned_yellow, result.turned_red)
        except Exception:  # keep the loop alive; the next round retries
            log.exception("SLA scan failed")
        finally:
            close_old_connections()


def start(interval: float = 60.0) -> None:
    global _started
    if _started:
        return
    _started = True
    threading.Thread(target=_loop, args=(interval,), name="cityops-scheduler", daemon=True).start()
