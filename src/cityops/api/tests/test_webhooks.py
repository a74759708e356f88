"""Webhooks: case events reach a subscribed system's endpoint signed with HMAC-SHA256,
after commit, through the outbox; failures are retried with backoff; nothing is lost
when the signal path is missed; the admin can re-send."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from cityops.api import webhooks
from cityops.api.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from cityops.api.tests.service_accounts import service_account
from cityops.cases.models import CaseEvent
from cityops.cases.states import Action
from cityops.cases.tests.factories import make_case
from cityops.cases.workflow import case_transition
from cityops.testing.webhooks import WebhookReceiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    r = WebhookReceiver(path="/hooks/cityops")
    yield r
    r.close()


@pytest.fixture(autouse=True)
def local_receivers(settings):
    """The receivers of these tests listen on 127.0.0.1 over plain http: listed explicitly."""
    settings.CITYOPS_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.CITYOPS_WEBHOOK_REQUIRE_HTTPS = False


@pytest.fixture
def leader(db):
    """The subscriber: a service account of role system that also sees every case (leader's view)."""
    return service_account("leader")


def subscribe(account, url, events=("*",), name="指挥大屏"):
    return WebhookSubscription.objects.create(name=name, account=account, url=url, events=list(events),
                                              secret=webhooks.new_secret(), created_at=timezone.now() - timedelta(seconds=5))


def test_events_are_delivered_after_commit_signed_with_a_timestamp(receiver, leader, category, django_capture_on_commit_callbacks):
    subscription = subscribe(leader, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        case = make_case(category=category)
    delivery = WebhookDelivery.objects.get()  # written by the commit hook, before any worker ran
    assert delivery.event_type == "case.created" and delivery.status == DeliveryStatus.PENDING
    assert receiver.received == []

    run = webhooks.deliver_due_webhooks()
    assert run == {"swept": 0, "sent": 1, "failed": 0, "given_up": 0}
    sent = receiver.requests[0]
    headers = sent["headers"]
    assert sent["path"] == "/hooks/cityops" and headers["Content-Type"].startswith("application/json")
    assert headers["X-CityOps-Event"] == "case.created"
    assert webhooks.verify_signature(subscription.secret, headers["X-CityOps-Timestamp"], sent["body"], headers["X-CityOps-Signature"])
    assert not webhooks.verify_signature("wrong-secret", headers["X-CityOps-Timestamp"], sent["body"], headers["X-CityOps-Signature"])
    assert not webhooks.verify_signature(subscription.secret, str(int(headers["X-CityOps-Timestamp"]) - 3600), sent["body"],
                                         headers["X-CityOps-Signature"])
    payload = json.loads(sent["body"])
    assert payload["type"] == "case.created" and payload["case"]["number"] == case.number
    assert payload["event"]["action"] == "create" and payload["id"] == headers["X-CityOps-Delivery"]
    assert payload["case"]["reporter_phone"] == "138****1234"  # a leader does not see personal data
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.last_status_code == 200
    assert delivery.last_response == '{"ok": true}' and delivery.attempts == 1
    assert webhooks.deliver_due_webhooks()["sent"] == 0  # nothing is sent twice


def test_a_failing_endpoint_is_retried_later_with_backoff(receiver, leader, category, django_capture_on_commit_callbacks):
    subscribe(leader, receiver.url)
    receiver.status = 500
    with django_capture_on_commit_callbacks(execute=True):
        make_case(category=category)
    now = timezone.now()
    assert webhooks.deliver_due_webhooks(now=now)["failed"] == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.last_status_code == 500 and delivery.last_response == "upstream broken"
    assert delivery.next_attempt_at == now + timedelta(seconds=30)
    assert webhooks.deliver_due_webhooks(now=now + timedelta(seconds=10))["failed"] == 0  # not due yet
    assert webhooks.deliver_due_webhooks(now=now + timedelta(seconds=31))["failed"] == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.next_attempt_at == now + timedelta(seconds=31 + 60)
    receiver.status = 204
    assert webhooks.deliver_due_webhooks(now=now + timedelta(minutes=5))["sent"] == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and len(receiver.received) == 3


def test_backoff_doubles_up_to_a_cap_and_gives_up(receiver, leader, category, settings, django_capture_on_commit_callbacks):
    assert [webhooks.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert webhooks.backoff(30).total_seconds() == 6 * 3600
    settings.CITYOPS_WEBHOOK_MAX_ATTEMPTS = 2
    subscribe(leader, receiver.url)
    receiver.status = 302  # a redirect is not followed with the signed body
    with django_capture_on_commit_callbacks(execute=True):
        make_case(category=category)
    now = timezone.now()
    webhooks.deliver_due_webhooks(now=now)
    assert webhooks.deliver_due_webhooks(now=now + timedelta(hours=1))["given_up"] == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED and delivery.last_status_code == 302
    assert len(receiver.received) == 2


def test_an_unreachable_endpoint_is_recorded(leader, category, django_capture_on_commit_callbacks):
    subscribe(leader, "http://127.0.0.1:9/nothing-listens")
    with django_capture_on_commit_callbacks(execute=True):
        make_case(category=category)
    assert webhooks.deliver_due_webhooks()["failed"] == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.last_status_code is None and "ConnectionRefusedError" in delivery.last_error


def test_subscriptions_get_only_their_events_and_only_cases_they_may_see(
    receiver, leader, people, category, department, other_department, django_capture_on_commit_callbacks,
):
    closed_only = subscribe(leader, receiver.url, ["case.closed", "case.dispatched"], name="结案")
    dept_account = service_account("department", name="住建局系统", department=other_department)
    dept = subscribe(dept_account, receiver.url, ["*"], name="住建局系统")
    with django_capture_on_commit_callbacks(execute=True):
        case = make_case(category=category)
        case = case_transition(case=case, action=Action.REGISTER, actor=people["operator"])
        case = case_transition(case=case, action=Action.DISPATCH, actor=people["dispatcher"], data={"department": department.code})
        other = make_case(category=category, description="另一件")
        case_transition(case=other, action=Action.ANSWER, actor=people["operator"], data={"answer": "已答复"})
    kinds = sorted(WebhookDelivery.objects.filter(subscription=closed_only).values_list("event_type", flat=True))
    assert kinds == ["case.closed", "case.dispatched"]
    assert not WebhookDelivery.objects.filter(subscription=dept).exists()  # dispatched to another department
    assert webhooks.event_types(CaseEvent.objects.get(action="answer")) == ["case.closed"]


def test_the_sweep_delivers_what_the_enqueue_missed_and_the_sla_scan_writes(receiver, leader, category, monkeypatch):
    subscribe(leader, receiver.url, ["case.created", "case.overdue"])

    def broken(**kwargs):
        raise RuntimeError("enqueue failed")

    monkeypatch.setattr(webhooks, "webhook_enqueue", broken)
    case = make_case(category=category)  # the case commits all the same; its delivery row is missing
    monkeypatch.undo()
    CaseEvent.objects.create(case=case, created_at=timezone.now(), actor_label="系统", action=Action.SLA_OVERDUE,
                             from_status="new", to_status="new")  # what the SLA scan writes, with no signal
    assert WebhookDelivery.objects.count() == 0
    run = webhooks.deliver_due_webhooks()
    assert run["swept"] == 2 and run["sent"] == 2
    assert sorted(p["type"] for p in receiver.payloads()) == ["case.created", "case.overdue"]
    assert webhooks.webhook_sweep() == 0  # idempotent: the next sweeps add nothing
    assert WebhookDelivery.objects.count() == 2


def test_events_before_a_subscription_existed_are_not_sent(receiver, leader, category):
    make_case(category=category)
    subscription = subscribe(leader, receiver.url)
    WebhookSubscription.objects.filter(pk=subscription.pk).update(created_at=timezone.now() + timedelta(seconds=1))
    assert webhooks.deliver_due_webhooks()["swept"] == 0


def test_admin_resend_and_delivery_log(admin_client, receiver, leader, category, django_capture_on_commit_callbacks):
    subscribe(leader, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        make_case(category=category)
    webhooks.deliver_due_webhooks()
    delivery = WebhookDelivery.objects.get()
    page = admin_client.get(f"/admin/api/webhookdelivery/{delivery.pk}/change/")
    assert page.status_code == 200 and '{&quot;ok&quot;: true}' in page.content.decode()
    response = admin_client.post("/admin/api/webhookdelivery/", {"action": "resend", "_selected_action": [delivery.pk]}, follow=True)
    assert response.status_code == 200 and "1 条送达" in response.content.decode()
    assert len(receiver.received) == 2
    assert receiver.received[0] == receiver.received[1]  # the same event, re-sent


def test_admin_creates_a_subscription_with_a_secret_shown_once(admin_client, leader, receiver):
    response = admin_client.post("/admin/api/webhooksubscription/add/", {
        "name": "大屏", "account": leader.pk, "url": receiver.url, "events": ["case.created", "case.closed"], "active": "on",
    }, follow=True)
    assert response.status_code == 200
    subscription = WebhookSubscription.objects.get(name="大屏")
    assert subscription.events == ["case.created", "case.closed"] and len(subscription.secret) > 30
    assert subscription.secret in " ".join(str(m) for m in response.context["messages"])
    response = admin_client.post("/admin/api/webhooksubscription/add/", {
        "name": "坏地址", "account": leader.pk, "url": "ftp://example.com/x", "events": ["*"]})
    assert response.status_code == 200 and not WebhookSubscription.objects.filter(name="坏地址").exists()


# ---------------------------------------------------------------- order, snapshots, fairness


@pytest.mark.parametrize("fanout", ["inline", "deferred"])
def test_each_payload_carries_the_case_as_that_event_left_it(receiver, leader, category, people, department, settings, fanout):
    settings.CITYOPS_EVENT_FANOUT = fanout
    subscribe(leader, receiver.url)
    case = make_case(category=category)
    case = case_transition(case=case, action=Action.REGISTER, actor=people["operator"])
    case_transition(case=case, action=Action.DISPATCH, actor=people["dispatcher"], data={"department": department.code})

    webhooks.deliver_due_webhooks()
    seen = [(p["type"], p["case"]["status"], (p["case"]["department"] or {}).get("code"), p["case"]["version"])
            for p in receiver.payloads()]
    assert seen == [("case.created", "new", None, 1), ("case.registered", "registered", None, 2),
                    ("case.dispatched", "dispatched", department.code, 3)]


def test_a_cases_events_keep_their_order_when_the_first_is_retried(receiver, leader, category, people):
    subscribe(leader, receiver.url)
    case = make_case(category=category)
    case_transition(case=case, action=Action.REGISTER, actor=people["operator"])
    receiver.status = 500
    now = timezone.now()
    assert webhooks.deliver_due_webhooks(now=now)["failed"] == 1  # case.created failed: retried in 30 s

    receiver.status = 200
    # case.registered is due, but it waits for case.created of the same case.
    assert webhooks.deliver_due_webhooks(now=now + timedelta(seconds=10))["sent"] == 0
    assert webhooks.deliver_due_webhooks(now=now + timedelta(seconds=31))["sent"] == 2
    assert [p["type"] for p in receiver.payloads()] == ["case.created", "case.created", "case.registered"]


def test_due_retries_are_not_starved_by_another_endpoints_backlog(receiver, leader, category):
    busy = subscribe(leader, "http://127.0.0.1:9/down", name="积压")  # connection refused
    quiet = subscribe(leader, receiver.url, name="大屏")
    case = make_case(category=category)
    WebhookDelivery.objects.all().delete()  # only the deliveries below
    now = timezone.now()
    events = CaseEvent.objects.bulk_create([
        CaseEvent(case=case, created_at=now, actor_label="系统", action=Action.SUPERVISE) for _ in range(250)
    ])
    WebhookDelivery.objects.bulk_create([
        WebhookDelivery(subscription=busy, case_event=event, event_type="case.supervised", payload={"id": str(i)},
                        created_at=now - timedelta(hours=1), next_attempt_at=now - timedelta(hours=1))
        for i, event in enumerate(events)
    ])
    retry = WebhookDelivery.objects.create(
        subscription=quiet, case_event=events[0], event_type="case.supervised", payload={"id": "retry"}, attempts=3,
        created_at=now - timedelta(hours=1), next_attempt_at=now - timedelta(minutes=1),
    )
    run = webhooks.deliver_due_webhooks(now=now, sweep=False)
    assert run["sent"] == 1 and run["failed"] == 1
    retry.refresh_from_db()
    assert retry.status == DeliveryStatus.SUCCEEDED
