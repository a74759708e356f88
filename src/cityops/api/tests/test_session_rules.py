"""The API's session scheme (the pages' own scripts: dashboard, big screen, map, assessment)
follows the same rules as the pages — second factor, idle timeout, single session, password
change — with JSON refusals; tokens and keys keep their own rules (等保 2.0 身份鉴别, finding 5)."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from cityops.accounts.sessions import LAST_ACTIVITY_KEY
from cityops.accounts.tests.factories import UserFactory
from cityops.api.tokens import token_issue
from cityops.audit.models import AuditAction, AuditEntry

pytestmark = pytest.mark.django_db

STATS = "/api/v1/stats/hot-issues"


@pytest.fixture
def enforced(settings):
    settings.OTP_REQUIRED_ROLES = ["sysadmin", "secadmin", "auditor", "leader"]
    return settings


def signed_in(user, *, verified_with=None, idle_seconds: float = 0) -> Client:
    client = Client()
    client.force_login(user)
    session = client.session
    if verified_with is not None:
        session[DEVICE_ID_SESSION_KEY] = verified_with.persistent_id
    session[LAST_ACTIVITY_KEY] = time.time() - idle_seconds
    session.save()
    return client


def device_of(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="动态口令", confirmed=True)


def test_a_verified_leader_session_reads_the_statistics(enforced):
    leader = UserFactory(role="leader")
    assert signed_in(leader, verified_with=device_of(leader)).get(STATS).status_code == 200


def test_a_password_only_session_of_an_enrolled_leader_gets_otp_required(enforced):
    leader = UserFactory(role="leader")
    device_of(leader)
    response = signed_in(leader).get(STATS)
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "otp_required" and body["details"]["url"] == reverse("accounts:otp_verify")
    assert "动态口令" in body["message"]


def test_a_password_only_session_of_a_leader_without_a_device_gets_otp_enrolment_required(enforced):
    response = signed_in(UserFactory(role="leader")).get("/api/v1/stats/dashboard")
    assert response.status_code == 403 and response.json()["code"] == "otp_enrolment_required"


def test_an_idle_session_gets_session_expired_and_is_logged_out_and_audited():
    leader = UserFactory(role="leader")
    client = signed_in(leader, idle_seconds=2 * 3600)
    response = client.get("/api/v1/stats/bigscreen")
    assert response.status_code == 401 and response.json()["code"] == "session_expired"
    assert "_auth_user_id" not in client.session
    entry = AuditEntry.objects.get(action=AuditAction.LOGOUT, actor=leader)
    assert entry.details["reason"] == "idle_timeout"


def test_a_replaced_session_gets_session_replaced(settings):
    settings.CITYOPS_SINGLE_SESSION = True
    leader = UserFactory(role="leader")
    client = signed_in(leader)
    type(leader).objects.filter(pk=leader.pk).update(current_session_key="a-newer-session")
    response = client.get(STATS)
    assert response.status_code == 401 and response.json()["code"] == "session_replaced"


def test_an_initial_password_session_gets_password_change_required():
    leader = UserFactory(role="leader", must_change_password=True)
    response = signed_in(leader).get(STATS)
    assert response.status_code == 403 and response.json()["code"] == "password_change_required"


def test_the_statistics_polls_do_not_keep_a_session_alive():
    client = signed_in(UserFactory(role="leader"), idle_seconds=20 * 60)
    stamp = client.session[LAST_ACTIVITY_KEY]
    assert client.get("/api/v1/stats/bigscreen").status_code == 200
    assert client.get(STATS).status_code == 200
    assert client.session[LAST_ACTIVITY_KEY] == stamp
    client.get("/dashboard/")
    assert client.session[LAST_ACTIVITY_KEY] > stamp


def test_the_api_session_scheme_applies_the_rules_without_the_middleware(enforced):
    """Defence in depth: the API's session scheme calls the same gate itself."""
    enforced.MIDDLEWARE = [m for m in enforced.MIDDLEWARE if not m.endswith("AuthenticationPolicyMiddleware")]
    response = signed_in(UserFactory(role="leader")).get(STATS)
    assert response.status_code == 403 and response.json()["code"] == "otp_enrolment_required"


def test_a_bearer_token_is_judged_by_its_own_rules_beside_a_pending_session(enforced):
    operator = UserFactory(role="operator")  # not an OTP role: a token is issued with the password
    token = token_issue(user=operator).token
    client = signed_in(UserFactory(role="leader"))  # a pending session cookie in the same client
    response = client.get(STATS, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200


def test_a_bad_token_beside_a_complete_session_is_refused_not_replaced_by_the_session():
    client = signed_in(UserFactory(role="leader"))
    response = client.get(STATS, HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 401


def test_an_htmx_partial_of_a_pending_session_is_sent_to_the_second_factor(enforced):
    client = signed_in(UserFactory(role="leader"))
    response = client.get(reverse("cases:list"), HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"].startswith(reverse("accounts:otp_setup"))
    assert b"<table" not in response.content


def test_an_export_of_a_pending_session_is_refused(enforced):
    client = signed_in(UserFactory(role="leader"))
    response = client.get(reverse("intake:case_export", kwargs={"fmt": "csv"}))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:otp_setup"))
