"""三员分立 for API keys (issue 14, finding 1): a key is bound to a service account, never to a
person; the administrators issue only `system` keys, a business role on a service account is the
security administrator's; the audit trail names the issuer and, for use, the service account."""

import pytest
from django.urls import reverse

from cityops.accounts import roles
from cityops.accounts.selectors import role_group
from cityops.accounts.tests.factories import UserFactory
from cityops.api.keys import KeyIssueError, apikey_issue
from cityops.api.models import ApiKey
from cityops.api.tests.keyclient import KeyClient
from cityops.audit.models import AuditAction, AuditEntry

pytestmark = pytest.mark.django_db


def issue_in_admin(client, **data):
    response = client.post(reverse("admin:api_apikey_add"), data, follow=True)
    shown = [str(m) for m in response.context["messages"]] if response.context else []
    return response, next((m[m.index("cok_"):].strip() for m in shown if "cok_" in m), None)


def test_sysadmin_cannot_bind_a_key_to_a_person(client):
    operator = UserFactory(role=roles.OPERATOR, display_name="王芳")
    client.force_login(UserFactory(role=roles.SYSADMIN))
    issue_in_admin(client, name="外呼系统", user=operator.pk)
    record = ApiKey.objects.get(name="外呼系统")
    assert record.user != operator and record.user.is_service_account


def test_sysadmin_cannot_issue_a_business_role_key(client):
    client.force_login(UserFactory(role=roles.SYSADMIN))
    _, _key = issue_in_admin(client, name="大屏", role=roles.LEADER)
    record = ApiKey.objects.get(name="大屏")
    assert record.user.role_codes == {roles.SYSTEM}
    assert not record.user.has_perm("cases.view_all_cases") and not record.user.has_perm("cases.view_personal_data")


def test_the_key_service_refuses_a_person_and_an_issuer_business_role(db):
    with pytest.raises(KeyIssueError, match="服务账号"):
        apikey_issue(name="甲", user=UserFactory(role=roles.OPERATOR))
    sysadmin = UserFactory(role=roles.SYSADMIN)
    for role in (roles.OPERATOR, roles.DISPATCHER, roles.LEADER, roles.DEPARTMENT):
        with pytest.raises(KeyIssueError, match="安全管理员"):
            apikey_issue(name=f"乙-{role}", role=role, actor=sysadmin)
    assert not ApiKey.objects.exists()


def test_a_key_bound_to_a_person_before_the_rule_is_refused(db):
    operator = UserFactory(role=roles.OPERATOR)
    client = KeyClient.issue("旧外呼系统")
    ApiKey.objects.filter(pk=client.record.pk).update(user=operator)
    response = client.get("/cases")
    assert response.status_code == 401 and "服务账号" in response.json()["message"]


def test_issuing_a_key_is_audited_with_the_administrator_as_actor(client):
    sysadmin = UserFactory(role=roles.SYSADMIN)
    client.force_login(sysadmin)
    issue_in_admin(client, name="视频平台")
    entry = AuditEntry.objects.get(action=AuditAction.ACCOUNT_CHANGE, target="apikey:视频平台")
    assert entry.actor == sysadmin and entry.details["change"] == "api_key_issue"
    assert entry.details["service_account"] == ApiKey.objects.get(name="视频平台").user.username


def test_key_use_is_audited_as_the_service_account_not_a_person(district):
    operator = UserFactory(role=roles.OPERATOR, display_name="王芳")
    client = KeyClient.issue("市12345平台")
    assert client.get("/cases").status_code == 200
    entry = AuditEntry.objects.get(action=AuditAction.API_KEY_USE)
    assert entry.actor == client.record.user and entry.actor != operator
    assert entry.actor.is_service_account and entry.actor_label == "市12345平台"


def test_sysadmin_cannot_give_a_service_account_a_role_or_scope(client, department):
    account = KeyClient.issue("城管系统").record.user
    client.force_login(UserFactory(role=roles.SYSADMIN))
    url = reverse("admin:accounts_user_change", args=[account.pk])
    response = client.post(url, {"username": account.username, "groups": [role_group(roles.DISPATCHER).pk],
                                 "department": department.pk, "is_active": "on"})
    assert response.status_code in (302, 403, 200)
    account = type(account).objects.get(pk=account.pk)
    assert account.role_codes == {roles.SYSTEM} and account.department is None


def test_sysadmin_cannot_reset_a_service_account_password(client):
    account = KeyClient.issue("城管系统").record.user
    client.force_login(UserFactory(role=roles.SYSADMIN))
    response = client.post(reverse("admin:auth_user_password_change", args=[account.pk]))
    assert response.status_code == 403
    account.refresh_from_db()
    assert not account.has_usable_password()


def test_secadmin_gives_a_service_account_a_business_role_and_scope(client, department):
    """The second person: the key was issued by the system administrator as `system`."""
    key = KeyClient.issue("城管系统")
    account = key.record.user
    client.force_login(UserFactory(role=roles.SECADMIN))
    response = client.post(reverse("admin:accounts_user_change", args=[account.pk]), {
        "groups": [role_group(roles.DEPARTMENT).pk], "department": department.pk,
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    account = type(account).objects.get(pk=account.pk)
    assert account.role_codes == {roles.DEPARTMENT} and account.department == department
