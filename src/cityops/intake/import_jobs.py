"""Import jobs of the upload page: the file is saved, `cases_import` runs (in the request for
small files, on a background thread for big ones), and the page polls a progress record.

The progress record lives in Django's cache (Redis in production, so any web process can
answer the poll; the process-local cache of the embedded default works with the
development server's single process). The durable record of every import is its entry in
the audit trail; the cache keeps the detailed error list for a day.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections

from cityops.intake.imports import cases_import

logger = logging.getLogger(__name__)

JOB_TTL = 24 * 3600
PROGRESS_INTERVAL = 0.5  # seconds between progress writes to the cache
# A running job whose record has not moved for this long lost its process (a restart, a
# recycled worker): its transaction was rolled back, so nothing was written.
STALLED_AFTER = 600
PHASES = {"queued": "排队中", "validate": "读取并校验数据", "locate": "定位（网格、社区、街道）", "write": "写入数据库", "refresh": "更新统计与查重索引", "done": "已完成"}


def inline_limit() -> int:
    """Files up to this size are imported within the upload request."""
    return int(settings.CITYOPS_IMPORT_INLINE_BYTES)


def _key(job_id: str) -> str:
    return f"cityops:import-job:{job_id}"


def job_get(job_id: str, user) -> dict[str, Any] | None:
    """The job's record if it exists and belongs to `user` (superusers see every job)."""
    if not job_id.isalnum() or len(job_id) > 32:
        return None
    job = cache.get(_key(job_id))
    if job is None or (job["owner_id"] != user.pk and not user.is_superuser):
        return None
    if job["state"] != "done" and time.time() - job.get("updated", job["started"]) > STALLED_AFTER:
        job.update(state="done", phase="done", result={
            "status": "failed", "message": "导入任务已中断（服务重启或进程退出），没有写入任何案件，请重新导入。",
            "errors": [], "errors_total": 0, "created": 0, "rows_total": 0, "skipped": 0,
        })
        _save(job)
    return job


def _save(job: dict[str, Any]) -> None:
    job["updated"] = time.time()
    cache.set(_key(job["id"]), job, JOB_TTL)


def job_start(*, upload, user, skip_invalid: bool, dry_run: bool, ip: str | None) -> dict[str, Any]:
    """Store the upload in a temporary file and run the import; returns the job record."""
    job_id = uuid.uuid4().hex[:16]
    filename = Path(getattr(upload, "name", "") or "upload").name[-120:]
    suffix = Path(filename).suffix.lower()[:8]
    handle, path = tempfile.mkstemp(prefix="cityops-import-", suffix=suffix)
    with os.fdopen(handle, "wb") as fh:
        for chunk in upload.chunks():
            fh.write(chunk)
    size = os.path.getsize(path)
    job = {
        "id": job_id, "owner_id": user.pk, "filename": filename, "size": size, "state": "queued",
        "phase": "queued", "done": 0, "total": None, "started": time.time(), "finished": None,
        "skip_invalid": skip_invalid, "dry_run": dry_run, "result": None,
    }
    _save(job)
    args = (job, path, user.pk, ip)
    if size <= inline_limit() or settings.CITYOPS_IMPORT_INLINE:
        _run(*args)
    else:
        threading.Thread(target=_run_in_thread, args=args, name=f"cityops-import-{job_id}", daemon=True).start()
    return cache.get(_key(job_id)) or job


def _run_in_thread(job: dict[str, Any], path: str, user_id: int, ip: str | None) -> None:
    close_old_connections()
    try:
        _run(job, path, user_id, ip)
    finally:
        close_old_connections()


def _run(job: dict[str, Any], path: str, user_id: int, ip: str | None) -> None:
    from cityops.accounts.models import User

    last = 0.0

    def progress(phase: str, done: int, total: int | None) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last < PROGRESS_INTERVAL and phase == job["phase"] and done != total:
            return
        last = now
        job.update(state="running", phase=phase, done=done, total=total)
        _save(job)

    try:
        user = User.objects.get(pk=user_id)
        request = SimpleNamespace(META={"REMOTE_ADDR": ip or ""}, user=user)
        result = cases_import(
            source=path, filename=job["filename"], actor=user, skip_invalid=job["skip_invalid"], dry_run=job["dry_run"],
            progress=progress, request=request, import_id=job["id"], refresh=False,
        )
        job["result"] = result.as_dict()
        if result.case_ids:
            # The cases are committed: show the outcome now, then update statistics and the duplicate index.
            job.update(state="running", phase="refresh", done=0, total=None)
            _save(job)
            result.refresh()
            job["result"]["timings"] = result.timings
    except Exception:  # the page must always get an answer, never a stuck progress bar
        logger.exception("import job %s crashed", job["id"])
        job["result"] = {
            "status": "failed", "message": "导入失败：服务器内部错误，已记录。没有写入任何案件。", "errors": [], "errors_total": 0,
            "created": 0, "rows_total": 0, "skipped": 0,
        }
    finally:
        job.update(state="done", phase="done", finished=time.time())
        _save(job)
        with contextlib.suppress(OSError):
            os.unlink(path)
