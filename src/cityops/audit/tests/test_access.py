"""Who reads the audit trail (the audit administrator, read-only) and what it records by itself (logins)."""

import pytest
from django.urls import reverse

from cityops.accounts.tests.factories import UserFactory
from cityops.api.tests.client import ApiClient
from cityops.audit.models import AuditAction, AuditEntry
from cityops.audit.services import audit_record

pytestmark = pytest.mark.django_db


def test_web_login_is_recorded(client):
    user = UserFactory(username="operator1", role="operator")
    client.post(reverse("web:login"), {"username": "operator1", "password": "Demo-pass-123"}, REMOTE_ADDR="10.0.0.7")
    entry = AuditEntry.objects.get(action=AuditAction.LOGIN)
    assert entry.actor == user and entry.target == "user:operator1"
    assert entry.ip == "10.0.0.7" and entry.details["via"] == "web"


def test_failed_login_is_recorded_without_the_password(client):
    UserFactory(username="operator1", role="operator")
    client.post(reverse("web:login"), {"username": "operator1", "password": "wrong-secret-123"})
    entry = AuditEntry.objects.get(action=AuditAction.LOGIN_FAILED)
    assert entry.actor is None and entry.actor_label == "operator1"
    assert entry.details["username"] == "operator1"
    assert "wrong-secret-123" not in str(entry.details)


def test_api_token_login_and_failure_are_recorded():
    UserFactory(username="dispatcher1", role="dispatcher")
    api = ApiClient()
    assert api.post("/auth/token", {"username": "dispatcher1", "password": "Demo-pass-123"}).status_code == 200
    assert api.post("/auth/token", {"username": "dispatcher1", "password": "nope-nope-123"}).status_code == 401
    logins = AuditEntry.objects.filter(action__in=[AuditAction.LOGIN, AuditAction.LOGIN_FAILED])
    actions = list(logins.order_by("id").values_list("action", "details__via"))
    assert actions == [(AuditAction.LOGIN, "api"), (AuditAction.LOGIN_FAILED, "api")]


def test_auditor_reads_the_trail_in_the_admin_read_only(client):
    audit_record(action=AuditAction.EXPORT, actor_label="张三", target="cases:csv", details={"count": 3})
    auditor = UserFactory(role="auditor")
    assert auditor.has_perm("audit.view_auditentry")
    client.force_login(auditor)
    changelist = client.get(reverse("admin:audit_auditentry_changelist"))
    assert changelist.status_code == 200 and "cases:csv" in changelist.content.decode()
    entry = AuditEntry.objects.filter(action=AuditAction.EXPORT).get()
    detail = client.get(reverse("admin:audit_auditentry_change", args=[entry.pk]))
    assert detail.status_code == 200 and 'name="target"' not in detail.content.decode()  # no editable field
    assert client.post(reverse("admin:audit_auditentry_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:audit_auditentry_add")).status_code == 403
    verify = client.get(reverse("admin:audit_auditentry_verify"), follow=True)
    assert "哈希链完整" in verify.content.decode()


@pytest.mark.parametrize("role", ["sysadmin", "secadmin", "operator"])
def test_other_roles_cannot_read_the_trail(client, role):
    user = UserFactory(role=role)
    assert not user.has_perm("audit.view_auditentry")
    client.force_login(user)
    assert client.get(reverse("admin:audit_auditentry_changelist")).status_code in (302, 403)
