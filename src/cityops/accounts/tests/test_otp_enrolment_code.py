"""First enrolment of the second factor needs a one-time code from the security administrator
(finding 8: whoever first logged in with a new admin's password bound their own authenticator)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from axes.models import AccessAttempt
from django.contrib import admin
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from cityops.accounts.otp import ENROLMENT_DEVICE_NAME, enrolment_code_issue
from cityops.accounts.tests.factories import UserFactory
from cityops.accounts.tests.helpers import code_for
from cityops.audit.models import AuditAction, AuditEntry

pytestmark = pytest.mark.django_db

SETUP = "/account/otp/setup/"
ISSUE = "/account/otp/enrolment-codes/"


@pytest.fixture
def enforced(settings):
    settings.OTP_REQUIRED_ROLES = ["sysadmin", "secadmin", "auditor", "leader"]
    return settings


def verified_client(user) -> Client:
    device = TOTPDevice.objects.create(user=user, name="动态口令", confirmed=True)
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def password_only(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# ---------------------------------------------------------------- the new account's side


def test_the_password_alone_shows_no_qr_code_and_makes_no_secret(enforced):
    client = password_only(UserFactory(role="sysadmin"))
    body = client.get(SETUP).content.decode()
    assert "开通码" in body and "otp-qr" not in body and "otpauth" not in body
    assert not TOTPDevice.objects.exists()


def test_a_totp_code_posted_without_an_enrolment_code_binds_nothing(enforced):
    user = UserFactory(role="auditor")
    client = password_only(user)
    response = client.post(SETUP, {"token": "123456"})
    assert response.status_code == 400
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def test_the_right_enrolment_code_leads_to_the_qr_code_and_binding(enforced):
    user = UserFactory(role="leader")
    code, _ = enrolment_code_issue(user=user, issued_by=None)
    client = password_only(user)
    response = client.post(SETUP, {"code": code.lower().replace("-", " "), "next": "/cases/"})
    assert response.status_code == 302 and response["Location"] == SETUP + "?next=%2Fcases%2F"
    assert "otp-qr" in client.get(SETUP).content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert client.post(SETUP, {"token": code_for(device), "next": "/cases/"})["Location"] == "/cases/"
    assert TOTPDevice.objects.get(user=user).confirmed
    assert not StaticDevice.objects.filter(user=user).exists()
    assert AuditEntry.objects.filter(action=AuditAction.ACCOUNT_CHANGE, details__change="otp_enrolment_code_redeemed").exists()


def test_a_wrong_enrolment_code_is_refused_in_chinese_audited_and_counted(enforced):
    user = UserFactory(role="secadmin")
    enrolment_code_issue(user=user, issued_by=None)
    client = password_only(user)
    response = client.post(SETUP, {"code": "AAAA-BBBB-CCCC"})
    assert response.status_code == 400 and "开通码不正确或已过期" in response.content.decode()
    entry = AuditEntry.objects.get(action=AuditAction.LOGIN_FAILED)
    assert entry.details["factor"] == "enrolment_code" and entry.details["reason"] == "wrong"
    assert AccessAttempt.objects.filter(username=user.username).exists()
    assert "otp-qr" not in client.get(SETUP).content.decode()


def test_an_expired_enrolment_code_is_refused(enforced):
    user = UserFactory(role="leader")
    code, _ = enrolment_code_issue(user=user, issued_by=None)
    StaticDevice.objects.filter(user=user).update(created_at=StaticDevice.objects.get(user=user).created_at - timedelta(hours=73))
    response = password_only(user).post(SETUP, {"code": code})
    assert response.status_code == 400
    assert AuditEntry.objects.get(action=AuditAction.LOGIN_FAILED).details["reason"] == "expired"


def test_an_enrolment_code_works_once(enforced):
    user = UserFactory(role="leader")
    code, _ = enrolment_code_issue(user=user, issued_by=None)
    assert password_only(user).post(SETUP, {"code": code}).status_code == 302
    assert password_only(user).post(SETUP, {"code": code}).status_code == 400


def test_a_new_code_replaces_the_previous_one(enforced):
    enforced.OTP_STATIC_THROTTLE_FACTOR = 0  # django-otp's back-off after the wrong (old) code
    user = UserFactory(role="leader")
    old, _ = enrolment_code_issue(user=user, issued_by=None)
    new, _ = enrolment_code_issue(user=user, issued_by=None)
    assert password_only(user).post(SETUP, {"code": old}).status_code == 400
    assert password_only(user).post(SETUP, {"code": new}).status_code == 302


def test_redeeming_a_code_discards_a_secret_shown_before(enforced):
    user = UserFactory(role="leader")
    stale = TOTPDevice.objects.create(user=user, name="动态口令", confirmed=False)  # e.g. shown before the rule
    code, _ = enrolment_code_issue(user=user, issued_by=None)
    client = password_only(user)
    client.post(SETUP, {"code": code})
    client.get(SETUP)
    assert TOTPDevice.objects.get(user=user, confirmed=False).pk != stale.pk


def test_rebinding_with_the_current_factor_needs_no_new_code(enforced):
    user = UserFactory(role="leader")
    client = verified_client(user)
    assert "otp-qr" in client.get(SETUP).content.decode()


def test_without_enforcement_a_voluntary_enrolment_needs_no_code():
    client = password_only(UserFactory(role="operator"))
    assert "otp-qr" in client.get(SETUP).content.decode()


def test_with_codes_for_everyone_a_voluntary_enrolment_needs_one_too(settings):
    settings.CITYOPS_OTP_ENROLMENT_CODE_FOR_ALL = True
    client = password_only(UserFactory(role="operator"))
    body = client.get(SETUP).content.decode()
    assert "开通码" in body and "otp-qr" not in body


# ---------------------------------------------------------------- the security administrator's side


def test_the_security_administrator_issues_a_code_shown_once_and_audited(enforced):
    secadmin = UserFactory(role="secadmin")
    newcomer = UserFactory(username="new_auditor", role="auditor")
    client = verified_client(secadmin)
    assert "签发开通码" in client.get(reverse("accounts:security")).content.decode()
    response = client.post(ISSUE, {"username": "new_auditor"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    code = response.context["issued"]["code"]
    assert code in response.content.decode()
    entry = AuditEntry.objects.get(action=AuditAction.ACCOUNT_CHANGE, details__change="otp_enrolment_code_issued")
    assert entry.actor == secadmin and entry.target == "user:new_auditor"
    assert code not in str(entry.details)
    assert code not in client.get(ISSUE).content.decode()  # shown once
    assert password_only(newcomer).post(SETUP, {"code": code}).status_code == 302


@pytest.mark.parametrize("role", ["sysadmin", "auditor", "leader", "operator"])
def test_other_roles_cannot_issue_enrolment_codes(enforced, role):
    UserFactory(username="target", role="auditor")
    client = verified_client(UserFactory(role=role))
    assert client.get(ISSUE).status_code == 403
    assert client.post(ISSUE, {"username": "target"}).status_code == 403
    assert not StaticDevice.objects.exists()


def test_a_security_administrator_cannot_issue_a_code_for_themselves(enforced):
    secadmin = UserFactory(username="sec1", role="secadmin")
    response = verified_client(secadmin).post(ISSUE, {"username": "sec1"})
    assert response.status_code == 400 and "不能为自己签发" in response.content.decode()
    assert not StaticDevice.objects.exists()


def test_a_code_for_an_unknown_user_is_a_form_error(enforced):
    response = verified_client(UserFactory(role="secadmin")).post(ISSUE, {"username": "nobody"})
    assert response.status_code == 400 and "用户不存在" in response.content.decode()


def test_a_security_administrator_without_the_second_factor_cannot_issue(enforced):
    client = password_only(UserFactory(role="secadmin"))
    response = client.post(ISSUE, {"username": "whoever"})
    assert response.status_code == 302 and response["Location"].startswith(SETUP)


def test_the_command_line_issues_the_first_administrators_code_audited():
    user = UserFactory(username="first_secadmin", role="secadmin")
    out = StringIO()
    call_command("otp_enrolment_code", "first_secadmin", stdout=out)
    assert "开通码" in out.getvalue()
    assert StaticDevice.objects.get(user=user).name == ENROLMENT_DEVICE_NAME
    entry = AuditEntry.objects.get(details__change="otp_enrolment_code_issued")
    assert entry.actor is None and entry.details["via"] == "cli"


def test_the_admin_offers_no_way_around_the_issue_page():
    assert not admin.site.is_registered(StaticDevice)
