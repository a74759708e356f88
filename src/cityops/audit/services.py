"""Writing and checking the audit trail.

`audit_record(...)` appends one entry to the hash chain; `verify_chain()` recomputes the chain
and names the first row that does not match (edited, deleted, inserted or re-ordered rows).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from cityops.audit.models import GENESIS_HASH, AuditAction, AuditChainHead, AuditEntry

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
    """The peer address. X-Forwarded-For is not trusted: a reverse proxy must set REMOTE_ADDR."""
    if request is None:
        return None
    return _normalise_ip(request.META.get("REMOTE_ADDR"))


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
    """
    expected_prev = GENESIS_HASH
    last_id = None
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=batch_size):
        if entry.prev_hash != expected_prev or entry_hash(entry) != entry.hash:
            return False, entry.pk
        expected_prev = entry.hash
        last_id = entry.pk
    head = AuditChainHead.objects.filter(pk=HEAD_ID).first()
    if head is not None and head.last_id is not None and (head.last_id != last_id or head.last_hash != expected_prev):
        return False, head.last_id
    return True, None
