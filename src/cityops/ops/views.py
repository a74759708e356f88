"""Health endpoints for load balancers and monitoring, and the benchmark-only insert.

* `/healthz` — liveness: the process answers (no database, no Redis). 200.
* `/readyz` — readiness: the database answers `SELECT 1` (200, else 503). Redis is reported
  but does not make the web unready: cases are taken without it (see docs/deploy.md).
  Also lists when each periodic job last succeeded, so a stopped beat shows up.

Both answer anyone (load balancers have no account), so they say status words and times only:
never an error text, a host name or a version. Why the database is unavailable goes to the log.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import Http404, HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from cityops.ops.models import BenchProbe, JobRun

logger = logging.getLogger(__name__)
JOB_STATUS_WORDS = {"ok", "error", "running"}


def _json(data: dict, status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return _json({"status": "ok"})


def redis_status() -> str:
    url = settings.REDIS_URL
    if not url:
        return "not_configured"
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            client.ping()
        finally:
            client.close()
    except redis.RedisError:
        return "unavailable"
    return "ok"


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    started = time.perf_counter()
    body: dict = {"database": "ok", "redis": redis_status()}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        body["jobs"] = {
            job.name: {
                "last_ok_at": timezone.localtime(job.last_ok_at).isoformat() if job.last_ok_at else None,
                "status": job.last_status if job.last_status in JOB_STATUS_WORDS else "unknown",
            }
            for job in JobRun.objects.all()
        }
    except DatabaseError:
        logger.exception("readyz: the database is unavailable")
        body["database"] = "unavailable"
    body["status"] = "ok" if body["database"] == "ok" else "unavailable"
    body["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return _json(body, 200 if body["database"] == "ok" else 503)


@csrf_exempt
@require_POST
def bench_insert(request: HttpRequest) -> JsonResponse:
    """The intake benchmark's ceiling: the same server, one INSERT, no business logic.
    Exists only when `CITYOPS_BENCHMARK_ENDPOINTS` is on (never in a real deployment)."""
    if not settings.CITYOPS_BENCHMARK_ENDPOINTS:
        raise Http404
    probe = BenchProbe.objects.create(created_at=timezone.now(), note="intake-ceiling")
    return _json({"id": probe.pk}, status=201)
