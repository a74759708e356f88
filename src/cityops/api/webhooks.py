"""Webhooks: signed case events pushed to other systems, through a transactional outbox.

The outbox is the case history itself: every state change appends its CaseEvent in the
same transaction, so an event cannot be committed without being recorded. Deliveries
(`WebhookDelivery`, one per subscription and event) are created three ways, all idempotent
on (subscription, event):

* inside the event's own transaction, from `case_event_recorded` (`cases.fanout.announce`):
  the payload is the case exactly as that event left it, whatever happens to it later;
* after a bulk import, from `cases_imported`: one `case.created` per imported case, dated
  with its report time (those events are older than any sweep looks back);
* by `webhook_sweep()`, which re-reads the recent history and adds what is missing: events
  that are written without the signal (the SLA scan's 即将超期/超期, a few seconds before the
  sweep reads the case) and anything a failed enqueue left out.

`deliver_due_webhooks()` is the periodic task: it sweeps, then POSTs the due deliveries,
retrying failures with exponential backoff. Per subscription, a case's events go out in the
order they happened: a delivery waits while an earlier event of the same case for the same
subscription is still pending (retrying included). Subscriptions take turns, and due retries
go before never-tried deliveries, so one endpoint's backlog never starves another endpoint or
its own retries. Each body is signed:

    X-CityOps-Timestamp: <unix seconds>
    X-CityOps-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>

Receivers recompute the HMAC over the raw body and reject old timestamps (replays).

Who and where (`cityops.api.outbound`): a subscription belongs to a service account of role
`system`, never to a person (checked when it is saved, when rows are queued and when they are
sent); a target must be on `CITYOPS_WEBHOOK_ALLOWED_HOSTS`, https, and resolve to a public
address unless that address is listed; the connection goes to the address that was checked;
redirects are not followed. Payloads are masked — reporter's name and phone, and phones, ID
numbers, bank cards and e-mails in every free text — unless the subscriber's account holds
the personal-data permission (`cases.view_personal_data`). Only the reply's status and its
first `RESPONSE_KEEP` characters are kept.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from cityops.api import outbound
from cityops.api.models import DeliveryStatus, WebhookCursor, WebhookDelivery, WebhookSubscription
from cityops.cases.models import Case, CaseEvent
from cityops.cases.permissions import can_see_personal_data, cases_visible_to
from cityops.cases.selectors import reporter_view
from cityops.cases.states import Action, Status
from cityops.common.pii import mask_text
from cityops.common.refcache import ReferenceCache

log = logging.getLogger("cityops.api.webhooks")

# Event type → the case actions that produce it. "case.closed" is any event that closes a case.
EVENT_TYPES: dict[str, str] = {
    "case.created": "新案件",
    "case.registered": "立案",
    "case.rejected": "不予立案",
    "case.dispatched": "派遣",
    "case.signed": "签收",
    "case.returned": "退单",
    "case.extension": "延期申请及审批",
    "case.suspended": "挂账/恢复",
    "case.responded": "处置反馈",
    "case.verified": "核查",
    "case.closed": "结案",
    "case.callback": "回访",
    "case.supervised": "督办/催办",
    "case.warning": "即将超期",
    "case.overdue": "已超期",
}
ACTION_EVENT: dict[str, str] = {
    Action.CREATE: "case.created", Action.REGISTER: "case.registered", Action.REJECT: "case.rejected",
    Action.ANSWER: "case.closed", Action.MERGE: "case.closed", Action.DISPATCH: "case.dispatched",
    Action.SIGN: "case.signed", Action.RETURN: "case.returned", Action.REQUEST_EXTENSION: "case.extension",
    Action.APPROVE_EXTENSION: "case.extension", Action.DENY_EXTENSION: "case.extension",
    Action.SUSPEND: "case.suspended", Action.RESUME: "case.suspended", Action.RESPOND: "case.responded",
    Action.VERIFY: "case.verified", Action.CALLBACK: "case.callback", Action.SUPERVISE: "case.supervised",
    Action.URGE: "case.supervised", Action.SLA_WARNING: "case.warning", Action.SLA_OVERDUE: "case.overdue",
}
CLOSING_ACTIONS = frozenset({Action.ANSWER, Action.MERGE, Action.VERIFY})

SIGNATURE_HEADER = "X-CityOps-Signature"
TIMESTAMP_HEADER = "X-CityOps-Timestamp"
EVENT_HEADER = "X-CityOps-Event"
DELIVERY_HEADER = "X-CityOps-Delivery"

SWEEP_OVERLAP = timedelta(minutes=10)  # longer than any transaction between an event's time and its commit
SWEEP_BATCH = 2000
CLAIM_LEASE = timedelta(minutes=2)
BACKOFF_BASE = 30  # seconds: 30 s, 1 min, 2 min, 4 min … capped
BACKOFF_CAP = 6 * 3600
RESPONSE_KEEP = 500  # characters of a reply kept for the log; the admin shows fewer, escaped


def max_attempts() -> int:
    return int(settings.CITYOPS_WEBHOOK_MAX_ATTEMPTS)


def timeout_seconds() -> float:
    return float(settings.CITYOPS_WEBHOOK_TIMEOUT)


def backoff(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`, after `attempts` failures."""
    return timedelta(seconds=min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1)))


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(secret: str, timestamp: str, body: bytes, signature: str, *, tolerance: int = 300,
                     now: float | None = None) -> bool:
    """What a receiver does (and what the tests check): right HMAC, recent timestamp."""
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except (TypeError, ValueError):
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature or "")


# ---------------------------------------------------------------- which events go where


def event_types(event: CaseEvent) -> list[str]:
    """The types an event belongs to, most specific first (a passed verification is also case.closed)."""
    kinds = [ACTION_EVENT.get(event.action, f"case.{event.action}")]
    if event.action in CLOSING_ACTIONS and event.to_status == Status.CLOSED and "case.closed" not in kinds:
        kinds.append("case.closed")
    return kinds


def _wanted(subscription: WebhookSubscription, event: CaseEvent) -> str | None:
    wanted = set(subscription.events or [])
    for kind in event_types(event):
        if "*" in wanted or kind in wanted:
            return kind
    return None


def _actions_for(subscription: WebhookSubscription) -> list[str] | None:
    wanted = set(subscription.events or [])
    if "*" in wanted:
        return None
    actions = [a for a, kind in ACTION_EVENT.items() if kind in wanted]
    if "case.closed" in wanted:
        actions += list(CLOSING_ACTIONS)
    return sorted(set(actions))


def _payload(delivery_id: uuid.UUID, kind: str, event: CaseEvent, case: Case, account) -> dict[str, Any]:
    # A machine transfer: in clear only to a system whose account holds the personal-data
    # permission (logged as a delivery); masked for every other subscriber.
    reporter = reporter_view(case, account, reveal=True)
    text = (lambda value: value) if can_see_personal_data(account) else (lambda value: mask_text(value) if value else value)

    def code_name(obj):
        return {"code": obj.code, "name": obj.name} if obj is not None else None

    def when(value: datetime | None):
        return timezone.localtime(value).isoformat() if value else None

    return {
        "id": str(delivery_id),
        "type": kind,
        "created_at": when(event.created_at),
        "event": {
            "action": event.action, "from_status": event.from_status, "to_status": event.to_status,
            "department": event.department.code if event.department_id else None, "note": text(event.note),
            "actor": event.actor_label, "created_at": when(event.created_at),
        },
        "case": {
            "number": case.number, "status": case.status, "channel": case.channel, "external_id": case.external_id,
            "case_type": case.case_type, "category": code_name(case.category), "urgency": case.urgency,
            "title": text(case.title), "description": text(case.description), "address": text(case.address),
            "lon": case.lon, "lat": case.lat, "street": code_name(case.street), "community": code_name(case.community),
            "grid": case.grid.code if case.grid_id else None, "department": code_name(case.department),
            "deadline": when(case.deadline), "handle_deadline": when(case.handle_deadline),
            "result": text(case.result), "satisfaction": case.satisfaction,
            "reporter_name": reporter["name"], "reporter_phone": reporter["phone"],
            "created_at": when(case.created_at), "closed_at": when(case.closed_at), "version": case.version,
        },
    }


TEXT_FIELDS = ("title", "description", "address", "result")


def mask_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """A payload as a subscriber without the personal-data permission (and the admin's log)
    sees it: reporter's name and phone masked, personal data in free texts masked. Idempotent."""
    from cityops.cases.services import mask_name, mask_phone

    out = dict(payload or {})
    case = dict(out.get("case") or {})
    if case:
        name, phone = case.get("reporter_name") or "", case.get("reporter_phone") or ""
        case["reporter_name"] = name if "*" in name else mask_name(name)
        case["reporter_phone"] = phone if "*" in phone else mask_phone(phone)
        for key in TEXT_FIELDS:
            if isinstance(case.get(key), str):
                case[key] = mask_text(case[key])
        out["case"] = case
    event = dict(out.get("event") or {})
    if isinstance(event.get("note"), str):
        event["note"] = mask_text(event["note"])
        out["event"] = event
    return out


def _delivery(subscription: WebhookSubscription, event: CaseEvent, kind: str, case: Case, now: datetime) -> WebhookDelivery:
    delivery_id = uuid.uuid4()
    return WebhookDelivery(
        subscription=subscription, case_event=event, event_type=kind, created_at=now, next_attempt_at=now,
        payload=_payload(delivery_id, kind, event, case, subscription.account),
    )


# Most deployments have few subscriptions or none: the common answer "nobody listens" is kept
# per process instead of asked on every case event (cleared by the model's signals, see apps.py).
subscriptions_present = ReferenceCache("api.webhook_subscriptions")


def any_active_subscription() -> bool:
    return subscriptions_present.get("any", WebhookSubscription.objects.filter(active=True).exists)


def active_subscriptions() -> list[WebhookSubscription]:
    """Active subscriptions whose account is (still) a service account; the others get nothing."""
    found = []
    for subscription in WebhookSubscription.objects.filter(active=True).select_related("account"):
        problem = outbound.subscriber_problem(subscription.account)
        if problem is None:
            found.append(subscription)
        else:
            log.warning("webhook subscription %s skipped: %s", subscription.pk, problem)
    return found


def webhook_enqueue(*, event: CaseEvent, case: Case | None = None, now: datetime | None = None) -> int:
    """Outbox rows of one committed event for every active subscription that wants it and may see the case."""
    if not any_active_subscription():
        return 0
    now = now or timezone.now()
    case = case or event.case
    rows = []
    for subscription in active_subscriptions():
        kind = _wanted(subscription, event)
        if kind is None or subscription.created_at > event.created_at:
            continue
        if not cases_visible_to(subscription.account).filter(pk=case.pk).exists():
            continue
        rows.append(_delivery(subscription, event, kind, case, now))
    if rows:
        WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def on_case_event_recorded(sender, case: Case, event: CaseEvent, **kwargs) -> None:
    """Receiver of `case_event_recorded`, inside the event's transaction: the delivery rows,
    with the case as this event left it. A failure here must not undo the case's change: it
    is rolled back to its savepoint and logged, and the sweep adds the rows later."""
    if not any_active_subscription():
        return
    try:
        with transaction.atomic():
            webhook_enqueue(event=event, case=case)
    except Exception:
        log.exception("webhook enqueue failed for event %s; the sweep will retry", event.pk)


IMPORT_CHUNK = 500


def on_cases_imported(sender, case_ids: list[int], **kwargs) -> None:
    """Receiver of `cases_imported` (after the import committed): `case.created` for each
    imported case, to every subscription that wants it and may see the case. The events carry
    the rows' report times, usually long before the sweep's window, so they are queued here."""
    if not case_ids or not any_active_subscription():
        return
    try:
        webhook_enqueue_imported(case_ids)
    except Exception:
        log.exception("webhook rows of %s imported cases failed", len(case_ids))


def webhook_enqueue_imported(case_ids: list[int], *, now: datetime | None = None) -> int:
    now = now or timezone.now()
    added = 0
    for subscription in active_subscriptions():
        actions = _actions_for(subscription)
        if actions is not None and Action.CREATE not in actions:
            continue
        visible = cases_visible_to(subscription.account)
        for start in range(0, len(case_ids), IMPORT_CHUNK):
            events = (
                CaseEvent.objects.filter(case_id__in=case_ids[start : start + IMPORT_CHUNK], action=Action.CREATE,
                                         case__in=visible.values("pk"))
                .select_related("case__category", "case__department", "case__street", "case__community", "case__grid")
                .order_by("id")
            )
            rows = [_delivery(subscription, event, "case.created", event.case, now) for event in events]
            WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
            added += len(rows)
    return added


def webhook_sweep(*, now: datetime | None = None) -> int:
    """Add the outbox rows missing for events since the last sweep (minus an overlap). Returns rows added."""
    now = now or timezone.now()
    cursor = WebhookCursor.objects.filter(pk=1).first()
    added = 0
    complete = True
    for subscription in active_subscriptions():
        since = subscription.created_at
        if cursor is not None:
            since = max(since, cursor.swept_until - SWEEP_OVERLAP)
        events = (
            CaseEvent.objects.filter(created_at__gte=since, created_at__lte=now,
                                     case__in=cases_visible_to(subscription.account).values("pk"))
            .exclude(Exists(WebhookDelivery.objects.filter(subscription=subscription, case_event=OuterRef("pk"))))
            .select_related("case__category", "case__department", "case__street", "case__community", "case__grid",
                            "department")
            .order_by("created_at", "id")
        )
        actions = _actions_for(subscription)
        if actions is not None:
            events = events.filter(action__in=actions)
        batch = list(events[:SWEEP_BATCH])
        complete = complete and len(batch) < SWEEP_BATCH
        rows = []
        for event in batch:
            kind = _wanted(subscription, event)
            if kind is not None:
                rows.append(_delivery(subscription, event, kind, _as_of(event), now))
        if rows:
            WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
            added += len(rows)
    if complete:  # a truncated sweep keeps its cursor and continues next time
        WebhookCursor.objects.update_or_create(pk=1, defaults={"swept_until": now})
    return added


def _as_of(event: CaseEvent) -> Case:
    """The case for a swept event's payload: as it is now (the sweep comes seconds after the
    SLA scan's events it is there for), but in the state the event itself recorded."""
    case = event.case
    if event.to_status and case.status != event.to_status:
        case.status = event.to_status
    return case


# ---------------------------------------------------------------- delivery


@dataclass
class Attempt:
    ok: bool
    status_code: int | None
    response: str
    error: str


def _post(url: str, body: bytes, headers: dict[str, str]) -> Attempt:
    """One POST through `outbound.post`: allow-listed host, checked address, no redirects."""
    try:
        reply = outbound.post(url, body, headers, timeout=timeout_seconds(), keep=RESPONSE_KEEP * 4)
    except outbound.TargetRefused as exc:
        log.warning("webhook target refused (%s): %s", exc.code, url)
        return Attempt(False, None, "", f"已拒绝：{exc.message}"[:300])
    except (http.client.HTTPException, TimeoutError, OSError, ValueError) as exc:
        return Attempt(False, None, "", f"{type(exc).__name__}: {exc}"[:300])
    text = reply.body.decode("utf-8", "replace")[:RESPONSE_KEEP]
    ok = 200 <= reply.status < 300
    return Attempt(ok, reply.status, text, "" if ok else f"HTTP {reply.status}")


def deliver(delivery: WebhookDelivery, *, now: datetime | None = None) -> bool:
    """POST one delivery now and record the outcome (success, retry later, or give up)."""
    now = now or timezone.now()
    subscription = delivery.subscription
    payload = delivery.payload
    if not can_see_personal_data(subscription.account):  # also rows queued before a permission was removed
        payload = mask_payload(payload)
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "CityOps-Webhook/1",
        EVENT_HEADER: delivery.event_type,
        DELIVERY_HEADER: str(payload.get("id", delivery.pk)),
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(subscription.secret, timestamp, body),
    }
    problem = outbound.subscriber_problem(subscription.account)
    if problem is not None:  # the account changed since the row was queued: nothing leaves
        result = Attempt(False, None, "", f"已拒绝：{problem}")
    else:
        result = _post(subscription.url, body, headers)
    attempts = delivery.attempts + 1
    fields: dict[str, Any] = {
        "attempts": attempts, "last_attempt_at": now, "last_status_code": result.status_code,
        "last_response": result.response[:RESPONSE_KEEP], "last_error": result.error[:300],
    }
    if result.ok:
        fields.update(status=DeliveryStatus.SUCCEEDED, delivered_at=now)
    elif attempts >= max_attempts():
        fields.update(status=DeliveryStatus.FAILED)
        log.warning("webhook %s to %s given up after %s attempts: %s", delivery.pk, subscription.url, attempts, result.error)
    else:
        fields.update(status=DeliveryStatus.PENDING, next_attempt_at=now + backoff(attempts))
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
    for key, value in fields.items():
        setattr(delivery, key, value)
    return result.ok


def time_budget() -> float:
    return float(settings.CITYOPS_WEBHOOK_RUN_SECONDS)


def _due(subscription_id: int, now: datetime, limit: int) -> list[WebhookDelivery]:
    """A subscription's deliveries that may go now, in the order they should: due retries first
    (they have waited their back-off already), then never-tried ones, oldest first. A delivery
    whose case has an earlier event still pending for this subscription waits for it."""
    earlier_pending = WebhookDelivery.objects.filter(
        subscription_id=OuterRef("subscription_id"), case_event__case_id=OuterRef("case_event__case_id"),
        case_event_id__lt=OuterRef("case_event_id"), status=DeliveryStatus.PENDING,
    )
    due = (
        WebhookDelivery.objects.filter(subscription_id=subscription_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .exclude(Exists(earlier_pending)).select_related("subscription__account")
    )
    retries = list(due.filter(attempts__gt=0).order_by("next_attempt_at", "id")[:limit])
    fresh = list(due.filter(attempts=0).order_by("next_attempt_at", "id")[: limit - len(retries)]) if len(retries) < limit else []
    return retries + fresh


def _round_robin(queues: list[list[WebhookDelivery]]) -> list[WebhookDelivery]:
    """One delivery of each subscription in turn: an endpoint with a backlog of thousands
    delays another endpoint by one delivery per turn, not by its whole backlog."""
    out = []
    for turn in range(max((len(q) for q in queues), default=0)):
        out.extend(q[turn] for q in queues if turn < len(q))
    return out


def deliver_due_webhooks(*, now: datetime | None = None, limit: int = 200, sweep: bool = True) -> dict[str, int]:
    """The periodic task (Celery beat, or the in-process scheduler): sweep the outbox, then
    deliver what is due, subscriptions taking turns (see the module docstring for the order).
    Safe on several workers at once: each delivery is claimed with a conditional UPDATE
    before it is sent. A run stops after `CITYOPS_WEBHOOK_RUN_SECONDS`; an endpoint that
    fails is not tried again within the same run. When a sent delivery lets the next event of
    its case go, another round follows within the same run.

    Returns counts: swept (outbox rows added), sent, failed (will retry), given_up."""
    now = now or timezone.now()
    started = time.monotonic()
    run = {"swept": 0, "sent": 0, "failed": 0, "given_up": 0}
    if sweep:
        run["swept"] = webhook_sweep(now=now)
    failing: set[int] = set()
    tried: set[int] = set()
    while time.monotonic() - started <= time_budget():
        subscriptions = (
            WebhookSubscription.objects.filter(active=True)
            .filter(Exists(WebhookDelivery.objects.filter(subscription=OuterRef("pk"), status=DeliveryStatus.PENDING,
                                                          next_attempt_at__lte=now)))
            .exclude(pk__in=failing).order_by("pk").values_list("pk", flat=True)
        )
        due = [d for d in _round_robin([_due(pk, now, limit) for pk in subscriptions]) if d.pk not in tried]
        if not due:
            break
        sent_before = run["sent"]
        for delivery in due:
            if time.monotonic() - started > time_budget():
                break
            if delivery.subscription_id in failing:
                continue
            tried.add(delivery.pk)
            with transaction.atomic():
                claimed = WebhookDelivery.objects.filter(
                    pk=delivery.pk, status=DeliveryStatus.PENDING, next_attempt_at=delivery.next_attempt_at,
                ).update(next_attempt_at=now + CLAIM_LEASE)
            if not claimed:
                continue  # another worker has it
            if deliver(delivery, now=now):
                run["sent"] += 1
                continue
            failing.add(delivery.subscription_id)
            run["given_up" if delivery.status == DeliveryStatus.FAILED else "failed"] += 1
        if run["sent"] == sent_before:
            break
    return run


def webhook_resend(*, deliveries, now: datetime | None = None) -> int:
    """The admin's manual re-send: put deliveries back in the queue, due now, with fresh attempts."""
    now = now or timezone.now()
    return WebhookDelivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now,
    )
