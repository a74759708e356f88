"""Writing and checking the audit trail.

`audit_record(...)` appends one entry to the hash chain; `verify_chain()` recomputes the chain
and names the first row that does not match (edited, deleted, inserted or re-ordered rows).

Each row's hash is an HMAC-SHA256 under a key kept outside the database
(`CITYOPS_AUDIT_HMAC_KEY` or `CITYOPS_AUDIT_HMAC_KEY_FILE`), so whoever can write to the
database can edit a row but cannot recompute a chain that verifies. Every row names its key by
`key_id` (a fingerprint of the key, never the key); after a rotation the old keys stay in the
keyring (`CITYOPS_AUDIT_HMAC_KEYS`) to verify older rows (docs/deploy.md, "Audit trail key").

Rows written before the chain had a key (`key_id` empty) were hashed with plain SHA-256. They
are accepted only as the chain's beginning, vouched for by the upgrade seal: a checkpoint that
migration 0004 writes once (`seal_legacy_rows`), chained onto the last of them, whose HMAC
covers their hash. Nothing else ever seals: unkeyed rows followed by anything but that seal
(say, a chain rewritten without the key and then appended to), an unkeyed row after a keyed
one, or unkeyed rows that nothing follows, fail verification.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
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


LEGACY_KEY_ID = ""  # rows hashed with plain SHA-256, before the chain had a key
MIN_KEY_LENGTH = 32
NO_KEY = (
    "审计日志密钥未配置：请设置 CITYOPS_AUDIT_HMAC_KEY 或 CITYOPS_AUDIT_HMAC_KEY_FILE"
    "（至少 32 个随机字符，保存在数据库之外，见 docs/deploy.md）。"
)


def key_id_of(key: str) -> str:
    """The key's public name stored in each row: a fingerprint that reveals nothing of the key."""
    return "k" + hmac.new(key.encode("utf-8"), b"cityops-audit-key-id", hashlib.sha256).hexdigest()[:12]


@dataclass(frozen=True)
class Keyring:
    current_id: str
    keys: dict[str, bytes]


def _split_keys(value) -> list[str]:
    if isinstance(value, str):
        value = re.split(r"[\s,]+", value)
    return [str(k).strip() for k in (value or []) if str(k).strip()]


def keyring() -> Keyring:
    """The current key (signs new rows) and the retired ones (verify older rows), by key id.

    Raises ImproperlyConfigured without a current key: an unkeyed chain proves nothing."""
    current = str(settings.CITYOPS_AUDIT_HMAC_KEY or "").strip()
    if not current:
        raise ImproperlyConfigured(NO_KEY)
    keys = {key_id_of(old): old.encode("utf-8") for old in _split_keys(settings.CITYOPS_AUDIT_HMAC_KEYS)}
    current_id = key_id_of(current)
    keys[current_id] = current.encode("utf-8")
    return Keyring(current_id=current_id, keys=keys)


def canonical_json(entry: AuditEntry) -> str:
    """The hashed content of a row: every field except the id, the actor link and the hash itself.

    The key id is part of it for keyed rows (unkeyed rows keep the content they were hashed with)."""
    payload = {
        "created_at": _timestamp(entry.created_at),
        "actor_label": entry.actor_label,
        "action": entry.action,
        "target": entry.target,
        "details": entry.details,
        "ip": entry.ip,
        "prev_hash": entry.prev_hash,
    }
    if entry.key_id:
        payload["key_id"] = entry.key_id
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def entry_hash(entry: AuditEntry, ring: Keyring | None = None) -> str | None:
    """The row's hash: HMAC-SHA256 under the key its `key_id` names, or plain SHA-256 for an
    unkeyed (pre-key) row. None when the key is not in the keyring."""
    message = (entry.prev_hash + canonical_json(entry)).encode("utf-8")
    if entry.key_id == LEGACY_KEY_ID:
        return hashlib.sha256(message).hexdigest()
    key = (ring or keyring()).keys.get(entry.key_id)
    if key is None:
        return None
    return hmac.new(key, message, hashlib.sha256).hexdigest()


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
        last = AuditEntry.objects.order_by("-id").values("id", "hash", "key_id").first()
        try:
            with transaction.atomic():
                AuditChainHead.objects.create(
                    pk=HEAD_ID, last_id=last["id"] if last else None,
                    last_hash=last["hash"] if last else GENESIS_HASH,
                    last_key_id=last["key_id"] if last else LEGACY_KEY_ID, appended=1,
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
    ring = keyring()
    with transaction.atomic():
        _append(entry, _lock_head(), ring)
    return entry


def _append(entry: AuditEntry, head: AuditChainHead, ring: Keyring) -> AuditChainHead:
    """Sign `entry` with the current key onto `head` (whose lock the caller holds) and save it."""
    entry.prev_hash = head.last_hash
    entry.key_id = ring.current_id
    entry.hash = entry_hash(entry, ring)
    entry.save(force_insert=True)
    AuditChainHead.objects.filter(pk=HEAD_ID).update(last_id=entry.pk, last_hash=entry.hash, last_key_id=entry.key_id)
    head.last_id, head.last_hash, head.last_key_id = entry.pk, entry.hash, entry.key_id
    return head


SEAL_TARGET = "audit:hmac"


def seal_legacy_rows(entry_model=AuditEntry, head_model=AuditChainHead, *, now: datetime | None = None):
    """The upgrade seal, written once by migration 0004 (with its historical models): a
    checkpoint chained onto the last unkeyed row, whose HMAC vouches for every unkeyed row.

    Nothing when the trail is empty or already holds a keyed row: it never seals a chain that
    was keyed before (one rewritten without the key stays broken). Needs the key."""
    last = entry_model.objects.order_by("-id").first()
    if last is None or entry_model.objects.exclude(key_id=LEGACY_KEY_ID).exists():
        return None
    ring = keyring()
    seal = entry_model(
        created_at=now or timezone.now(), actor_label="系统", action=AuditAction.CHECKPOINT, target=SEAL_TARGET,
        details={"hmac_key_id": ring.current_id, "legacy_through_id": last.pk, "legacy_through_hash": last.hash},
        prev_hash=last.hash, key_id=ring.current_id,
    )
    seal.hash = entry_hash(seal, ring)
    seal.save(force_insert=True)
    head_model.objects.filter(pk=HEAD_ID).update(last_id=seal.pk, last_hash=seal.hash, last_key_id=seal.key_id)
    return seal


def _is_seal_of(entry: AuditEntry, prev_id: int | None, prev_hash: str) -> bool:
    details = entry.details if isinstance(entry.details, dict) else {}
    return (
        entry.action == AuditAction.CHECKPOINT and entry.target == SEAL_TARGET
        and details.get("legacy_through_id") == prev_id and details.get("legacy_through_hash") == prev_hash
    )


# ---------------------------------------------------------------- checking


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    first_bad: int | None = None
    reason: str = ""  # for people, in Chinese
    count: int = 0


def verify_chain(batch_size: int = 2000) -> tuple[bool, int | None]:
    """Recompute the whole chain in id order: (True, None) if intact, else (False, first bad id).
    `chain_report` says the same with the reason."""
    report = chain_report(batch_size)
    return report.ok, report.first_bad


def chain_report(batch_size: int = 2000) -> ChainReport:
    """Recompute the whole chain in id order and name the first row that does not match.

    A row is bad when its content no longer matches its hash (edited; re-hashed without the
    key; signed by a key that is not in the keyring), or when its `prev_hash` is not the hash
    of the row before it (a row before it was deleted or inserted). Unkeyed rows are accepted
    only before the first keyed row, which vouches for them; an unkeyed row after a keyed one
    is bad, and so is a chain of unkeyed rows that no keyed row follows (a chain rewritten
    without the key). When the newest rows were deleted, the head still names the last entry
    it appended, and that id is returned.

    After `audit_purge` the oldest remaining row no longer follows the genesis hash: it must
    follow the hash that a checkpoint entry, itself inside the verified chain, says the last
    purged row had. Rows deleted from the start without such a checkpoint are found at the
    first remaining row.
    """
    ring = keyring()
    expected_prev = GENESIS_HASH
    first_id = last_id = first_legacy_id = None
    keyed_seen = False
    start_hash: str | None = None
    anchors: set[str] = set()
    count = 0
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=batch_size):
        count += 1
        if first_id is None:
            first_id = entry.pk
            if entry.prev_hash != GENESIS_HASH:
                start_hash = expected_prev = entry.prev_hash
        if entry.prev_hash != expected_prev:
            return ChainReport(False, entry.pk, "与上一条记录的哈希不衔接（前面的记录被删除、插入或修改）", count)
        if entry.key_id == LEGACY_KEY_ID:
            if keyed_seen:
                return ChainReport(False, entry.pk, "启用密钥后出现无密钥的记录（疑为改写后重新计算）", count)
            first_legacy_id = first_legacy_id or entry.pk
        else:
            if entry.key_id not in ring.keys:
                return ChainReport(False, entry.pk, f"签名密钥 {entry.key_id} 不在密钥环中（CITYOPS_AUDIT_HMAC_KEYS）", count)
            if first_legacy_id is not None and not keyed_seen and not _is_seal_of(entry, last_id, expected_prev):
                return ChainReport(False, entry.pk, "无密钥的旧记录之后不是升级检查点（疑为无密钥地重写后续写）", count)
            keyed_seen = True
        if not hmac.compare_digest(entry_hash(entry, ring) or "", entry.hash):
            return ChainReport(False, entry.pk, "记录内容与哈希不符（被修改）", count)
        if entry.action == AuditAction.CHECKPOINT and isinstance(entry.details, dict):
            through = entry.details.get("purged_through_id")
            if isinstance(through, int) and through < first_id:
                anchors.add(str(entry.details.get("purged_through_hash", "")))
        expected_prev = entry.hash
        last_id = entry.pk
    if start_hash is not None and start_hash not in anchors:
        return ChainReport(False, first_id, "最早的记录之前有记录被删除，且没有清理检查点", count)
    if first_legacy_id is not None and not keyed_seen:
        return ChainReport(False, first_legacy_id, "全部记录均无密钥签名（未经升级检查点确认，或被无密钥地重写）", count)
    head = AuditChainHead.objects.filter(pk=HEAD_ID).first()
    if head is not None and head.last_id is not None and (head.last_id != last_id or head.last_hash != expected_prev):
        return ChainReport(False, head.last_id, "最新的记录被删除（与链头不符）", count)
    return ChainReport(True, None, "", count)


# ---------------------------------------------------------------- retention

MIN_RETENTION_DAYS = 183  # 等保 2.0: audit records are kept at least six months


def retention_days() -> int:
    """AUDIT_RETENTION_DAYS, never less than six months whatever the settings say."""
    try:
        configured = int(settings.AUDIT_RETENTION_DAYS)
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
