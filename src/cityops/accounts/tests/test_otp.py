"""等保 2.0 身份鉴别 — TOTP second factor: required roles, enrolment, verification, lockout, admin, API."""

from __future__ import annotations

import re

import pytest
from axes.handlers.proxy import AxesProxyHandler
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from cityops.accounts.tests.factories import UserFactory
from cityops.accounts.tests.helpers import code_for, pass_enrolment_code, wrong_code_for
from cityops.api.tests.client import ApiClient
from cityops.audit.models import AuditAction, AuditEntry

pytestmark = pytest.mark.django_db

PASSWORD = "Demo-pass-123"
SETUP = "/account/otp/setup/"
VERIFY = "/account/otp/verify/"


@pytest.fixture
def enforced(settings):
    settings.OTP_REQUIRED_ROLES = ["sysadmin", "secadmin", "auditor", "leader"]
    return settings


def login(client: Client, username: str, *, ip: str = "127.0.0.1"):
    return client.post(reverse("web:login"), {"username": username, "password": PASSWORD}, REMOTE_ADDR=ip)


def enrolled(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="动态口令", confirmed=True)


def submit(client: Client, url: str, token: str, **extra):
    return client.post(url, {"token": token, **extra})


# ---------------------------------------------------------------- who needs it


def test_without_enforcement_a_leader_logs_in_with_the_password_alone(client):
    UserFactory(username="leader", role="leader")
    login(client, "leader")
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("role", ["sysadmin", "secadmin", "auditor", "leader"])
def test_a_required_role_without_a_device_must_enrol_first(client, enforced, role):
    UserFactory(username="boss", role=role)
    login(client, "boss")
    response = client.get("/cases/")
    assert response.status_code == 302 and response["Location"].startswith(SETUP)


def test_other_roles_are_not_bound_by_enforcement(client, enforced):
    UserFactory(username="op", role="operator")
    login(client, "op")
    assert client.get("/").status_code == 200


def test_an_enrolled_user_must_verify_after_every_password_login(client, enforced):
    user = UserFactory(username="leader", role="leader")
    device = enrolled(user)
    login(client, "leader")
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith(VERIFY)
    assert submit(client, VERIFY, code_for(device), next="/").status_code == 302
    assert client.get("/").status_code == 200
    client.post(reverse("web:logout"))
    login(client, "leader")
    assert client.get("/")["Location"].startswith(VERIFY)


def test_a_voluntary_enrolment_is_asked_for_at_login_too(client):
    user = UserFactory(username="op", role="operator")
    device = enrolled(user)
    login(client, "op")
    assert client.get("/")["Location"].startswith(VERIFY)
    submit(client, VERIFY, code_for(device))
    assert client.get("/").status_code == 200


# ---------------------------------------------------------------- enrolment


def test_the_setup_page_shows_a_qr_code_as_data_and_no_script(client, enforced):
    user = UserFactory(role="sysadmin")
    client.force_login(user)
    pass_enrolment_code(client, user)
    body = client.get(SETUP).content.decode()
    assert "绑定动态口令" in body
    assert re.search(r'<img class="otp-qr" src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+"', body)
    assert "<script>" not in body and " on" + "click=" not in body
    device = TOTPDevice.objects.get(confirmed=False)
    assert "otpauth://" in device.config_url and "%E5%9F%8E%E8%BF%90" in device.config_url  # issuer 城运


def test_enrolment_with_the_right_code_confirms_the_device_and_is_audited(client, enforced):
    user = UserFactory(role="auditor")
    client.force_login(user)
    pass_enrolment_code(client, user)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=user)
    response = submit(client, SETUP, code_for(device), next="/")
    assert response.status_code == 302 and response["Location"] == "/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/").status_code == 200  # the enrolment verified this session
    entry = AuditEntry.objects.get(action=AuditAction.ACCOUNT_CHANGE, details__change="otp_enrol")
    assert entry.details == {"change": "otp_enrol"} and entry.actor == user


def test_enrolment_with_a_wrong_code_is_refused_and_audited(client, enforced):
    user = UserFactory(role="auditor")
    client.force_login(user)
    pass_enrolment_code(client, user)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=user)
    response = submit(client, SETUP, wrong_code_for(device))
    assert response.status_code == 200 and "动态口令不正确" in response.content.decode()
    assert not TOTPDevice.objects.get(user=user).confirmed
    assert AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED, details__factor="totp").count() == 1


def test_a_malformed_code_is_a_form_error_not_an_attempt(client):
    user = UserFactory()
    device = enrolled(user)
    client.force_login(user)
    response = submit(client, VERIFY, "12ab56")
    assert "请输入 6 位数字动态口令" in response.content.decode()
    device.refresh_from_db()
    assert device.throttling_failure_count == 0


def test_the_password_alone_cannot_replace_an_enrolled_device(client, enforced):
    user = UserFactory(role="leader")
    enrolled(user)
    client.force_login(user)
    response = client.get(SETUP)
    assert response.status_code == 302 and response["Location"] == VERIFY
    assert TOTPDevice.objects.filter(user=user).count() == 1


def test_a_voluntary_user_may_remove_the_device_but_a_required_one_may_not(client, enforced):
    operator = UserFactory(role="operator")
    device = enrolled(operator)
    client.force_login(operator)
    submit(client, VERIFY, code_for(device))
    client.post("/account/otp/disable/")
    assert not TOTPDevice.objects.filter(user=operator).exists()

    leader = UserFactory(role="leader")
    device = enrolled(leader)
    other = Client()
    other.force_login(leader)
    submit(other, VERIFY, code_for(device))
    other.post("/account/otp/disable/")
    assert TOTPDevice.objects.filter(user=leader).exists()


# ---------------------------------------------------------------- wrong codes and lockout


def test_a_wrong_code_is_refused_and_audited(client, enforced):
    user = UserFactory(username="leader", role="leader")
    device = enrolled(user)
    login(client, "leader")
    response = submit(client, VERIFY, wrong_code_for(device))
    assert response.status_code == 200 and "动态口令不正确" in response.content.decode()
    assert client.get("/")["Location"].startswith(VERIFY)
    entry = AuditEntry.objects.get(action=AuditAction.LOGIN_FAILED, details__factor="totp")
    assert entry.actor == user and entry.details["stage"] == "login"


def test_five_wrong_codes_lock_the_account_and_end_the_session(client, enforced, settings):
    user = UserFactory(username="leader", role="leader")
    device = enrolled(user)
    login(client, "leader")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert submit(client, VERIFY, wrong_code_for(device)).status_code == 200
    response = submit(client, VERIFY, wrong_code_for(device))
    assert response.status_code == 429 and "登录失败次数过多" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # The password no longer opens the account either: axes counted the failures.
    assert login(client, "leader").status_code == 429


def test_the_code_lockout_survives_a_fresh_password_login(client, enforced, settings):
    # A password login resets django-axes' count; the device's own count must not reset,
    # or four guesses per password login would never lock.
    user = UserFactory(username="leader", role="leader")
    device = enrolled(user)
    login(client, "leader")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        submit(client, VERIFY, wrong_code_for(device))
    AxesProxyHandler.reset_attempts(username="leader")
    AxesProxyHandler.reset_attempts(ip_address="127.0.0.1")
    assert login(client, "leader").status_code == 302
    response = submit(client, VERIFY, code_for(device))
    assert response.status_code == 429
    device.refresh_from_db()
    assert not device.throttling_failure_count < settings.AXES_FAILURE_LIMIT


def test_a_right_code_before_the_limit_resets_the_count(client):
    user = UserFactory(username="op")
    device = enrolled(user)
    login(client, "op")
    for _ in range(3):
        submit(client, VERIFY, wrong_code_for(device))
    assert submit(client, VERIFY, code_for(device)).status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 0


# ---------------------------------------------------------------- Django admin


def test_the_admin_requires_the_second_factor_when_enforced(client, enforced):
    user = UserFactory(role="sysadmin")
    device = enrolled(user)
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith(VERIFY)
    submit(client, VERIFY, code_for(device))
    assert client.get("/admin/").status_code == 200


def test_an_admin_login_through_the_admin_form_still_needs_the_code(client, enforced):
    UserFactory(username="sys", role="sysadmin")
    response = client.post(reverse("admin:login"), {"username": "sys", "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 302
    assert client.get("/admin/")["Location"].startswith(SETUP)


def test_a_superuser_is_bound_whenever_any_role_is(client, enforced):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    assert client.get("/admin/")["Location"].startswith(SETUP)


def test_the_security_officer_sees_devices_without_their_secrets(client):
    from cityops.accounts.services import roles_sync

    roles_sync()
    secadmin = UserFactory(role="secadmin")
    device = enrolled(UserFactory())
    client.force_login(secadmin)
    response = client.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk]))
    assert response.status_code == 200
    assert device.key not in response.content.decode()
    assert secadmin.has_perm("otp_totp.delete_totpdevice")


# ---------------------------------------------------------------- API tokens


def test_a_token_for_a_second_factor_account_needs_the_code(enforced):
    user = UserFactory(username="leader", role="leader")
    device = enrolled(user)
    api = ApiClient()
    response = api.post("/auth/token", {"username": "leader", "password": PASSWORD})
    assert response.status_code == 401 and response.json()["code"] == "otp_required"
    response = api.post("/auth/token", {"username": "leader", "password": PASSWORD, "otp": wrong_code_for(device)})
    assert response.status_code == 401 and response.json()["code"] == "otp_invalid"
    response = api.post("/auth/token", {"username": "leader", "password": PASSWORD, "otp": code_for(device)})
    assert response.status_code == 200 and response.json()["token"]


def test_a_token_for_a_required_role_without_a_device_is_refused(enforced):
    UserFactory(username="sys", role="sysadmin")
    response = ApiClient().post("/auth/token", {"username": "sys", "password": PASSWORD})
    assert response.status_code == 403 and response.json()["code"] == "otp_enrolment_required"
