"""API keys of other systems: issued by command or admin, shown once, stored hashed,
bound to a service account's role and scope, revocable, every call logged by name."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from cityops.accounts.tests.factories import UserFactory
from cityops.api.models import ApiCallLog, ApiKey
from cityops.api.tests.keyclient import KeyClient
from cityops.cli import translate

pytestmark = pytest.mark.django_db


def create_key(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("apikey_create", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_cli_maps_the_group_command_onto_apikey_create():
    assert translate(["apikey", "create", "视频平台", "--role", "system"]) == ["apikey_create", "视频平台", "--role", "system"]
    assert translate(["apikey", "list"]) == ["apikey_list"]


def test_create_prints_the_key_alone_on_the_last_line_and_stores_only_its_digest(department):
    out, _ = create_key("视频平台", "--role", "system")
    key = out.strip().splitlines()[-1]
    assert key.startswith("cok_") and " " not in key and len(key) > 40
    record = ApiKey.objects.get(name="视频平台")
    secret = key.split("_", 2)[2]
    assert secret not in record.key_hash and record.key_hash != key
    assert record.user.has_role("system") and not record.user.has_usable_password()
    assert "不会再次显示" in out and out.splitlines()[-1] == key


def test_department_scope_and_bad_arguments(department):
    create_key("城管系统", "--role", "system", "--department", department.code)
    assert ApiKey.objects.get(name="城管系统").user.department == department
    for args, message in [
        (("乙", "--role", "system", "--department", "nope"), "nope"),
        (("城管系统", "--role", "system"), "已被使用"),
    ]:
        with pytest.raises(CommandError, match=message):
            create_key(*args)
    with pytest.raises(CommandError):
        create_key("丙", "--role", "sysadmin")  # administrator roles are for people only
    with pytest.raises(CommandError):
        create_key("丁", "--role", "department", "--department", department.code)  # business roles: secadmin assigns


def test_the_command_line_refuses_to_bind_a_key_to_a_person(department):
    user = UserFactory(role="operator")
    with pytest.raises(CommandError, match="服务账号"):
        create_key("受理外呼系统", "--user", user.username)
    assert not ApiKey.objects.filter(name="受理外呼系统").exists()


def test_a_second_key_can_be_bound_to_an_existing_service_account(department):
    create_key("视频平台", "--role", "system")
    account = ApiKey.objects.get(name="视频平台").user
    create_key("视频平台-备用", "--user", account.username)
    assert ApiKey.objects.get(name="视频平台-备用").user == account


def test_key_authenticates_as_its_account_and_every_call_is_logged_by_name(district):
    client = KeyClient.issue("视频平台")
    assert client.get("/cases").status_code == 200
    assert client.get("/cases/CD19990101-0001").status_code == 404
    logs = list(ApiCallLog.objects.order_by("id").values_list("key_name", "method", "path", "status_code"))
    assert logs == [("视频平台", "GET", "/api/v1/cases", 200), ("视频平台", "GET", "/api/v1/cases/CD19990101-0001", 404)]
    assert ApiKey.objects.get(name="视频平台").last_used_at is not None


def test_bad_and_revoked_keys_are_401_json_and_revoked_calls_are_logged(db):
    client = KeyClient.issue("旧系统")
    for bad in ("nonsense", "cok_abc_def", client.key[:-2] + "xx"):
        response = Client().get("/api/v1/cases", HTTP_X_API_KEY=bad)
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"
    out = StringIO()
    call_command("apikey_revoke", "旧系统", stdout=out)
    assert "已吊销" in out.getvalue()
    response = client.get("/cases")
    assert response.status_code == 401 and "吊销" in response.json()["message"]
    assert ApiCallLog.objects.filter(key_name="旧系统", status_code=401).count() == 1
    out = StringIO()
    call_command("apikey_revoke", client.record.prefix, stdout=out)
    assert "此前已吊销" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("apikey_revoke", "没有这个", stdout=StringIO())


def test_list_shows_keys_without_the_secret(db):
    client = KeyClient.issue("市12345平台")
    out = StringIO()
    call_command("apikey_list", stdout=out)
    text = out.getvalue()
    assert "市12345平台" in text and client.record.prefix in text and "system" in text and "有效" in text
    assert client.key not in text


def test_admin_creates_a_key_shows_it_once_and_revokes(admin_client, department):
    # A `role` in the post is ignored: the admin makes only `system` service accounts.
    response = admin_client.post("/admin/api/apikey/add/", {"name": "大屏系统", "role": "leader", "department_code": ""}, follow=True)
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    record = ApiKey.objects.get(name="大屏系统")
    shown = next(m for m in messages if "cok_" in m)
    key = shown[shown.index("cok_"):].strip()
    assert KeyClient(key).get("/cases").status_code == 200
    assert record.user.role_codes == {"system"} and record.user.is_service_account
    page = admin_client.get(f"/admin/api/apikey/{record.pk}/change/")
    assert key not in page.content.decode()
    admin_client.post("/admin/api/apikey/", {"action": "revoke", "_selected_action": [record.pk]})
    assert KeyClient(key).get("/cases").status_code == 401
    response = admin_client.post("/admin/api/apikey/add/", {"name": ""})
    assert response.status_code == 200 and ApiKey.objects.count() == 1
