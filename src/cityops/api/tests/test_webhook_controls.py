"""Issue 14, finding 3: webhooks are no data or SSRF channel.

* a subscription belongs to a service account of role system, never to a person, an
  administrator or a business-role service account, and only the security administrator
  creates or edits one;
* targets only on CITYOPS_WEBHOOK_ALLOWED_HOSTS (empty: none), https, no credentials in the URL;
  the host's addresses checked at delivery (internal ranges refused unless listed) and the
  connection made to exactly the checked address; redirects not followed;
* the admin shows the reply's status and a short escaped excerpt, and the payload masked;
* payloads masked unless the subscriber's account holds the personal-data permission.
"""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from cityops.accounts import roles
from cityops.accounts.tests.factories import UserFactory
from cityops.api import outbound, webhooks
from cityops.api.keys import service_account_create
from cityops.api.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from cityops.api.tests.service_accounts import service_account
from cityops.cases.models import Case
from cityops.cases.tests.factories import make_case
from cityops.testing.webhooks import WebhookReceiver

pytestmark = pytest.mark.django_db

DESCRIPTION = "楼道堆物，联系电话13912345678，身份证110101199003074514"


@pytest.fixture
def receiver():
    r = WebhookReceiver()
    yield r
    r.close()


@pytest.fixture
def local(settings):
    settings.CITYOPS_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.CITYOPS_WEBHOOK_REQUIRE_HTTPS = False
    return settings


@pytest.fixture
def feed(db):
    return service_account("leader")


def subscribe(account, url, name="大屏"):
    return WebhookSubscription.objects.create(name=name, account=account, url=url, events=["*"], secret=webhooks.new_secret(),
                                              created_at=timezone.now() - timedelta(seconds=5))


def sends(category) -> Case:
    return make_case(category=category, description=DESCRIPTION)


# ---------------------------------------------------------------- (a) who may subscribe


def test_a_service_account_of_role_system_may_subscribe(local, feed, receiver):
    WebhookSubscription(name="大屏", account=feed, url=receiver.url, events=["*"], secret="s").full_clean()


def test_a_person_cannot_hold_a_subscription(local, receiver):
    person = UserFactory(role="operator")
    with pytest.raises(ValidationError) as refused:
        WebhookSubscription(name="x", account=person, url=receiver.url, events=["*"], secret="s").full_clean()
    assert "服务账号" in str(refused.value.message_dict["account"])


def test_a_person_given_the_system_role_who_can_sign_in_cannot_hold_a_subscription(local, receiver):
    person = UserFactory(role="system")  # has a usable password: a person, whatever the group
    assert outbound.subscriber_problem(person) is not None
    with pytest.raises(ValidationError):
        WebhookSubscription(name="x", account=person, url=receiver.url, events=["*"], secret="s").full_clean()


@pytest.mark.parametrize("role", [roles.SYSADMIN, roles.SECADMIN, roles.AUDITOR])
def test_an_administrator_cannot_hold_a_subscription(local, receiver, role):
    admin_user = UserFactory(role=role)
    assert outbound.subscriber_problem(admin_user) is not None


def test_a_business_role_service_account_without_role_system_cannot_hold_a_subscription(local, receiver):
    operator_service = service_account_create(name="受理系统", role="operator")
    assert not operator_service.has_usable_password()
    assert "外部系统" in outbound.subscriber_problem(operator_service)


def test_an_inactive_service_account_cannot_hold_a_subscription(local, feed):
    feed.is_active = False
    assert outbound.subscriber_problem(feed) == "服务账号已停用。"


def test_no_rows_are_queued_for_a_subscription_bound_to_a_person(local, receiver, category, django_capture_on_commit_callbacks):
    subscribe(UserFactory(role="operator"), receiver.url)  # written around the admin's checks
    with django_capture_on_commit_callbacks(execute=True):
        sends(category)
    assert webhooks.deliver_due_webhooks() == {"swept": 0, "sent": 0, "failed": 0, "given_up": 0}
    assert not WebhookDelivery.objects.exists() and receiver.received == []


def test_a_queued_row_is_not_sent_once_its_account_is_a_person(local, receiver, feed, category, django_capture_on_commit_callbacks):
    subscribe(feed, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        sends(category)
    feed.set_password("Now-a-person-123")
    feed.save()
    assert webhooks.deliver_due_webhooks(sweep=False)["failed"] == 1
    delivery = WebhookDelivery.objects.get()
    assert receiver.received == [] and delivery.last_error.startswith("已拒绝：")


def test_sysadmin_cannot_see_add_or_edit_subscriptions_in_the_admin(client, local, feed, receiver):
    subscription = subscribe(feed, receiver.url)
    client.force_login(UserFactory(role=roles.SYSADMIN))
    assert client.get("/admin/api/webhooksubscription/").status_code == 403
    assert client.get(f"/admin/api/webhooksubscription/{subscription.pk}/change/").status_code in (302, 403)
    response = client.post("/admin/api/webhooksubscription/add/", {
        "name": "外泄", "account": feed.pk, "url": receiver.url, "events": ["*"], "active": "on"})
    assert response.status_code == 403 and not WebhookSubscription.objects.filter(name="外泄").exists()


def test_sysadmin_may_not_hold_subscription_permissions_and_secadmin_does():
    sysadmin, secadmin = set(roles.ROLE_PERMISSIONS[roles.SYSADMIN]), set(roles.ROLE_PERMISSIONS[roles.SECADMIN])
    verbs = {f"api.{v}_webhooksubscription" for v in ("add", "change", "delete", "view")}
    assert not verbs & sysadmin and verbs <= secadmin


def test_secadmin_creates_a_subscription_for_a_service_account_and_it_is_audited(client, local, feed, receiver):
    from cityops.audit.models import AuditEntry

    client.force_login(UserFactory(role=roles.SECADMIN))
    response = client.post("/admin/api/webhooksubscription/add/", {
        "name": "大屏", "account": feed.pk, "url": receiver.url, "events": ["case.created"], "active": "on"}, follow=True)
    assert response.status_code == 200
    subscription = WebhookSubscription.objects.get(name="大屏")
    assert subscription.account == feed
    assert AuditEntry.objects.filter(action="config_change", target=f"webhook_subscription:{subscription.pk}").exists()


def test_secadmin_cannot_bind_a_subscription_to_a_person(client, local, receiver):
    client.force_login(UserFactory(role=roles.SECADMIN))
    person = UserFactory(role="operator")
    response = client.post("/admin/api/webhooksubscription/add/", {
        "name": "受理员", "account": person.pk, "url": receiver.url, "events": ["*"], "active": "on"})
    assert response.status_code == 200 and not WebhookSubscription.objects.filter(name="受理员").exists()
    assert "account" in response.context["adminform"].form.errors


# ---------------------------------------------------------------- (b) where it may go


def test_an_empty_allow_list_allows_no_target(settings):
    settings.CITYOPS_WEBHOOK_ALLOWED_HOSTS = []
    with pytest.raises(outbound.TargetRefused) as refused:
        outbound.check_url("https://hooks.example.com/x")
    assert refused.value.code == "host_not_allowed"


def test_a_host_off_the_allow_list_is_refused(settings):
    settings.CITYOPS_WEBHOOK_ALLOWED_HOSTS = ["hooks.example.com", "*.partner.gov.cn"]
    for url in ("https://evil.example.com/x", "https://hooks.example.com.evil.net/", "https://partner.gov.cn/",
                "https://10.0.0.5/", "https://169.254.169.254/latest/meta-data/"):
        with pytest.raises(outbound.TargetRefused):
            outbound.check_url(url)
    assert outbound.check_url("https://hooks.example.com/x").host == "hooks.example.com"
    assert outbound.check_url("https://a.partner.gov.cn:8443/in?x=1").path == "/in?x=1"


def test_plain_http_is_refused_when_https_is_required(settings):
    settings.CITYOPS_WEBHOOK_ALLOWED_HOSTS = ["hooks.example.com"]
    settings.CITYOPS_WEBHOOK_REQUIRE_HTTPS = True
    with pytest.raises(outbound.TargetRefused) as refused:
        outbound.check_url("http://hooks.example.com/x")
    assert refused.value.code == "https_required"


@pytest.mark.parametrize("url", ["https://user:pw@hooks.example.com/x", "ftp://hooks.example.com/x", "file:///etc/passwd",
                                 "https://hooks.example.com:99999/"])
def test_credentials_other_schemes_and_bad_urls_are_refused(settings, url):
    settings.CITYOPS_WEBHOOK_ALLOWED_HOSTS = ["hooks.example.com"]
    with pytest.raises(outbound.TargetRefused):
        outbound.check_url(url)


def test_the_model_refuses_a_target_off_the_allow_list(settings, feed):
    settings.CITYOPS_WEBHOOK_ALLOWED_HOSTS = ["hooks.example.com"]
    with pytest.raises(ValidationError) as refused:
        WebhookSubscription(name="x", account=feed, url="https://127.0.0.1:8080/", events=["*"], secret="s").full_clean()
    assert "允许列表" in str(refused.value.message_dict["url"])


def _resolving_to(monkeypatch, *answers: str):
    calls = []

    def fake(host, port, *args, **kwargs):
        calls.append(host)
        address = answers[min(len(calls), len(answers)) - 1]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(outbound.socket, "getaddrinfo", fake)
    return calls


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.0.10", "172.16.5.5", "169.254.169.254", "100.64.0.1",
                                     "::1", "::ffff:127.0.0.1", "fd00:ec2::254", "0.0.0.0"])
def test_an_allowed_host_resolving_to_an_internal_address_is_refused_before_connecting(settings, monkeypatch, address):
    settings.CITYOPS_WEBHOOK_ALLOWED_HOSTS = ["hooks.example.com"]
    _resolving_to(monkeypatch, address)
    connected = []
    monkeypatch.setattr(outbound.socket, "create_connection", lambda *a, **k: connected.append(a))
    with pytest.raises(outbound.TargetRefused) as refused:
        outbound.post("https://hooks.example.com/x", b"{}", {}, timeout=1, keep=10)
    assert refused.value.code == "internal_address" and connected == []


def test_the_connection_goes_to_the_address_that_was_checked(settings, monkeypatch):
    """DNS rebinding: a second lookup would answer 127.0.0.1; only one lookup is made and the
    socket is opened to the public address it returned."""
    settings.CITYOPS_WEBHOOK_ALLOWED_HOSTS = ["hooks.example.com"]
    lookups = _resolving_to(monkeypatch, "93.184.216.34", "127.0.0.1")
    connected = []

    def record(address, timeout=None, *args, **kwargs):
        connected.append(address)
        raise ConnectionRefusedError("test: no network")

    monkeypatch.setattr(outbound.socket, "create_connection", record)
    with pytest.raises(ConnectionRefusedError):
        outbound.post("https://hooks.example.com/x", b"{}", {}, timeout=1, keep=10)
    assert lookups == ["hooks.example.com"] and connected == [("93.184.216.34", 443)]


def test_a_listed_internal_address_may_be_called(settings, monkeypatch, receiver):
    settings.CITYOPS_WEBHOOK_ALLOWED_HOSTS = ["hooks.intranet", "127.0.0.0/8"]
    settings.CITYOPS_WEBHOOK_REQUIRE_HTTPS = False
    _resolving_to(monkeypatch, "127.0.0.1")
    reply = outbound.post(f"http://hooks.intranet:{receiver.port}/hook", b"{}", {}, timeout=5, keep=100)
    assert reply.status == 200 and receiver.received == [b"{}"]


def test_a_delivery_to_a_refused_target_records_why_and_sends_nothing(settings, feed, receiver, category,
                                                                      django_capture_on_commit_callbacks):
    settings.CITYOPS_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.CITYOPS_WEBHOOK_REQUIRE_HTTPS = False
    subscribe(feed, receiver.url)
    settings.CITYOPS_WEBHOOK_ALLOWED_HOSTS = []  # the host was taken off the list after the subscription was made
    with django_capture_on_commit_callbacks(execute=True):
        sends(category)
    assert webhooks.deliver_due_webhooks()["failed"] == 1
    delivery = WebhookDelivery.objects.get()
    assert receiver.received == [] and "允许列表" in delivery.last_error and delivery.last_status_code is None


# ---------------------------------------------------------------- (c) what the admin shows


def test_the_delivery_admin_shows_the_status_and_a_short_escaped_excerpt(admin_client, local, feed, category,
                                                                         django_capture_on_commit_callbacks):
    long_reply = ("<script>alert(1)</script>回执 13912345678 " + "x" * 3000 + "END-OF-REPLY").encode()
    r = WebhookReceiver(reply=long_reply, status=500)
    try:
        subscribe(feed, r.url)
        with django_capture_on_commit_callbacks(execute=True):
            sends(category)
        webhooks.deliver_due_webhooks()
    finally:
        r.server.shutdown()
        r.server.server_close()
    delivery = WebhookDelivery.objects.get()
    assert delivery.last_status_code == 500 and len(delivery.last_response) <= webhooks.RESPONSE_KEEP
    html = admin_client.get(f"/admin/api/webhookdelivery/{delivery.pk}/change/").content.decode()
    assert "500" in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html and "END-OF-REPLY" not in html and "x" * 300 not in html
    assert "13912345678" not in html and "139****5678" in html


def test_the_delivery_admin_shows_the_payload_masked_even_for_a_personal_data_subscriber(
    admin_client, local, receiver, category, django_capture_on_commit_callbacks,
):
    subscribe(service_account("dispatcher", name="派遣系统"), receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        case = sends(category)
    delivery = WebhookDelivery.objects.get()
    assert delivery.payload["case"]["reporter_phone"] == case.reporter_phone  # the subscriber may have it
    html = admin_client.get(f"/admin/api/webhookdelivery/{delivery.pk}/change/").content.decode()
    assert case.reporter_phone not in html and "13912345678" not in html and case.reporter_name not in html


# ---------------------------------------------------------------- (d) what a payload carries


def test_the_payload_is_masked_for_a_subscriber_without_the_personal_data_permission(
    local, receiver, feed, category, django_capture_on_commit_callbacks,
):
    subscribe(feed, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        case = sends(category)
    webhooks.deliver_due_webhooks()
    sent = receiver.payloads()[0]["case"]
    assert sent["reporter_phone"] != case.reporter_phone and "****" in sent["reporter_phone"]
    assert sent["reporter_name"] != case.reporter_name
    assert "13912345678" not in sent["description"] and "139****5678" in sent["description"]
    assert "110101199003074514" not in sent["description"] and "110101********4514" in sent["description"]


def test_the_payload_is_clear_for_a_subscriber_holding_the_personal_data_permission(
    local, receiver, category, django_capture_on_commit_callbacks,
):
    subscribe(service_account("dispatcher", name="派遣系统"), receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        case = sends(category)
    webhooks.deliver_due_webhooks()
    sent = receiver.payloads()[0]["case"]
    assert sent["reporter_phone"] == case.reporter_phone and sent["description"] == DESCRIPTION


def test_rows_queued_in_clear_go_out_masked_once_the_permission_is_gone(
    local, receiver, category, django_capture_on_commit_callbacks,
):
    from cityops.accounts.services import user_set_roles

    account = service_account("dispatcher", name="派遣系统")
    subscribe(account, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        case = sends(category)
    user_set_roles(user=account, role_codes=["system", "leader"])
    account = type(account).objects.get(pk=account.pk)  # fresh permission cache
    WebhookDelivery.objects.update(status=DeliveryStatus.PENDING)
    webhooks.deliver_due_webhooks(sweep=False)
    sent = receiver.payloads()[0]["case"]
    assert sent["reporter_phone"] != case.reporter_phone and "13912345678" not in sent["description"]


def test_a_persons_account_without_a_password_is_still_no_service_account(local, receiver):
    person = UserFactory(role="system")
    person.set_unusable_password()
    person.save()
    if not hasattr(person, "is_service_account"):
        pytest.skip("User.is_service_account arrives with the accounts change of issue 14")
    assert "不是服务账号" in outbound.subscriber_problem(person)
