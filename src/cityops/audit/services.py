"""Writing and checking the audit trail.

`audit_record(...)` appends one entry to the hash chain; `verify_chain()` recomputes the chain
and names the first row that does not match (edited, deleted, inserted or re-ordered rows).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from cityops.audit.models import GENESIS_HASH, AuditAction, AuditChainHead, AuditEntry
from cityops.common.clientip import UNKNOWN as UNKNOWN_ADDRESS
from cityops.common.clientip import client_ip as proxied_client_ip

HEAD_ID = 1
MAX_TARGET = 255
MAX_LABEL = 150


# ---------------------------------------------------------------- hashing


def _normalise_details(details: Any) -> dict[str, Any]:
    """What is stored is exactly what is hashed: JSON-safe values only (dates and other objects as text)."""
    if details is None:
        return {}
    if not isinstance(details, dict):
        details = {"value": details}
    return json.loads(json.dumps(details, ensure_ascii=False, default=str))


def _normalise_ip(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        address = ipaddress.ip_address(raw.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.compressed


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_json(entry: AuditEntry) -> str:
    """The hashed content of a row: every field except the id, the actor link and the hash itself."""
    payload = {
        "created_at": _timestamp(entry.created_at),
        "actor_label": entry.actor_label,
        "action": entry.action,
        "target": entry.target,
        "details": entry.details,
        "ip": entry.ip,
        "prev_hash": entry.prev_hash,
    }
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def entry_hash(entry: AuditEntry) -> str:
    return hashlib.sha256((entry.prev_hash + canonical_json(entry)).encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- writing


def client_ip(request) -> str | None:
    """The client's address: the peer, or the X-Forwarded-For hop that a trusted proxy
    (CITYOPS_TRUSTED_PROXIES) vouches for — the same address rate limits and lockouts count."""
    if request is None:
        return None
    address = proxied_client_ip(request)
    return None if address == UNKNOWN_ADDRESS else _normalise_ip(address)


def _actor_label(actor) -> str:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return ""
    name = getattr(actor, "display_name", "") or ""
    username = actor.get_username()
    return f"{name} ({username})" if name and name != username else username


def _lock_head() -> AuditChainHead:
    """Take the chain lock and return the head.

    The UPDATE comes first on purpose: it takes the row lock on PostgreSQL and the database
    write lock on SQLite before anything is read, so two writers can never both read the
    same head. The lock is held until the surrounding transaction ends.
    """
    if not AuditChainHead.objects.filter(pk=HEAD_ID).update(appended=F("appended") + 1):
        # No head (a fresh or flushed database): start it from whatever the table holds.
        last = AuditEntry.objects.order_by("-id").values("id", "hash").first()
        try:
            with transaction.atomic():
                AuditChainHead.objects.create(
                    pk=HEAD_ID, last_id=last["id"] if last else None,
                    last_hash=last["hash"] if last else GENESIS_HASH, appended=1,
                )
        except IntegrityError:
            AuditChainHead.objects.filter(pk=HEAD_ID).update(appended=F("appended") + 1)
    return AuditChainHead.objects.select_for_update().get(pk=HEAD_ID)


def audit_record(
    *,
    action: str,
    actor=None,
    actor_label: str = "",
    target: str = "",
    details: dict[str, Any] | None = None,
    request=None,
    now: datetime | None = None,
) -> AuditEntry:
    """Append one entry to the audit trail and return it.

    Appends are serialised by the chain head's lock (see `_lock_head`), which is held until
    the surrounding transaction commits: call this outside long-running transactions (a
    bulk import records its entry after its own transaction has committed). If the
    surrounding transaction rolls back, the entry goes with it.
    """
    if action not in AuditAction.values:
        raise ValueError(f"unknown audit action: {action}")
    if actor is None and request is not None and getattr(request, "user", None) is not None:
        actor = request.user if request.user.is_authenticated else None
    label = (actor_label or _actor_label(actor) or "").strip()[:MAX_LABEL]
    entry = AuditEntry(
        created_at=now or timezone.now(),
        actor=actor if actor is not None and getattr(actor, "pk", None) else None,
        actor_label=label,
        action=action,
        target=(target or "")[:MAX_TARGET],
        details=_normalise_details(details),
        ip=client_ip(request),
    )
    with transaction.atomic():
        head = _lock_head()
        entry.prev_hash = head.last_hash
        entry.hash = entry_hash(entry)
        entry.save(force_insert=True)
        AuditChainHead.objects.filter(pk=HEAD_ID).update(last_id=entry.pk, last_hash=entry.hash)
    return entry


# ---------------------------------------------------------------- checking


def verify_chain(batch_size: int = 2000) -> tuple[bool, int | None]:
    """Recompute the whole chain in id order: (True, None) if intact, else (False, first bad id).

    A row is bad when its content no longer matches its hash (edited), or when its
    `prev_hash` is not the hash of the row before it (a row before it was deleted or
    inserted). When the newest rows were deleted, the head still names the last entry it
    appended, and that id is returned.

    After `audit_purge` the oldest remaining row no longer follows the genesis hash: it must
    follow the hash that a checkpoint entry, itself inside the verified chain, says the last
    purged row had. Rows deleted from the start without such a checkpoint are found at the
    first remaining row.
    """
    expected_prev = GENESIS_HASH
    first_id = last_id = None
    start_hash: str | None = None
    anchors: set[str] = set()
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=batch_size):
        if first_id is None:
            first_id = entry.pk
            if entry.prev_hash != GENESIS_HASH:
                start_hash = expected_prev = entry.prev_hash
        if entry.prev_hash != expected_prev or entry_hash(entry) != entry.hash:
            return False, entry.pk
        if entry.action == AuditAction.CHECKPOINT and isinstance(entry.details, dict):
            through = entry.details.get("purged_through_id")
            if isinstance(through, int) and through < first_id:
                anchors.add(str(entry.details.get("purged_through_hash", "")))
        expected_prev = entry.hash
        last_id = entry.pk
    if start_hash is not None and start_hash not in anchors:
        return False, first_id
    head = AuditChainHead.objects.filter(pk=HEAD_ID).first()
    if head is not None and head.last_id is not None and (head.last_id != last_id or head.last_hash != expected_prev):
        return False, head.last_id
    return True, None


# ---------------------------------------------------------------- retention

MIN_RETENTION_DAYS = 183  # 等保 2.0: audit records are kept at least six months


def retention_days() -> int:
    """AUDIT_RETENTION_DAYS, never less than six months whatever the settings say."""
    try:
        configured = int(getattr(settings, "AUDIT_RETENTION_DAYS", MIN_RETENTION_DAYS))
    except (TypeError, ValueError):
        configured = MIN_RETENTION_DAYS
    return max(MIN_RETENTION_DAYS, configured)


class PurgeRefused(Exception):
    """The purge would cut into the retention period, or the chain is not intact."""


@dataclass(frozen=True)
class PurgeResult:
    purged: int
    checkpoint: AuditEntry | None


def audit_purge(*, before: datetime, actor_label: str = "", now: datetime | None = None) -> PurgeResult:
    """Delete the entries older than `before` and leave a checkpoint that keeps the chain verifiable.

    Refused when `before` is within the retention period (`retention_days()`), or when the
    chain is already broken (purging would destroy the evidence). The checkpoint entry holds
    the id and hash of the last purged row; `verify_chain` accepts the oldest remaining row
    only if it follows that hash. Entries are removed oldest first up to the first entry at
    or after `before`, so the kept part of the chain stays contiguous.
    """
    now = now or timezone.now()
    if timezone.is_naive(before):
        before = timezone.make_aware(before)
    limit = now - timedelta(days=retention_days())
    if before > limit:
        raise PurgeRefused(
            f"审计日志至少保存 {retention_days()} 天：只能清理 {timezone.localtime(limit):%Y-%m-%d %H:%M} 之前的记录。"
        )
    ok, first_bad = verify_chain()
    if not ok:
        raise PurgeRefused(f"审计日志哈希链校验失败（第一处异常在 ID {first_bad}），请先调查，不能清理。")
    with transaction.atomic():
        _lock_head()
        first_kept = AuditEntry.objects.filter(created_at__gte=before).order_by("id").values_list("id", flat=True).first()
        doomed = AuditEntry.objects.all() if first_kept is None else AuditEntry.objects.filter(id__lt=first_kept)
        last = doomed.order_by("-id").values("id", "hash").first()
        if last is None:
            return PurgeResult(0, None)
        count = doomed.count()
        checkpoint = audit_record(
            action=AuditAction.CHECKPOINT, actor_label=actor_label or "系统", target="audit:purge",
            details={
                "purged_through_id": last["id"], "purged_through_hash": last["hash"], "purged_count": count,
                "before": before.isoformat(), "retention_days": retention_days(),
            },
            now=now,
        )
        purged = AuditEntry.objects.all()._purge_through(last["id"])
    return PurgeResult(purged, checkpoint)
