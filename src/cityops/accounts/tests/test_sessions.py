"""等保 2.0 身份鉴别 — idle timeout, the optional single active session, audited logouts."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.urls import reverse

from cityops.accounts.sessions import LAST_ACTIVITY_KEY
from cityops.accounts.tests.factories import UserFactory
from cityops.audit.models import AuditAction, AuditEntry

pytestmark = pytest.mark.django_db

PASSWORD = "Demo-pass-123"


def set_last_activity(client: Client, seconds_ago: float) -> None:
    session = client.session
    session[LAST_ACTIVITY_KEY] = time.time() - seconds_ago
    session.save()


def last_activity(client: Client) -> float:
    return client.session[LAST_ACTIVITY_KEY]


def login(client: Client, username: str) -> None:
    response = client.post(reverse("web:login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302


def test_a_session_idle_beyond_the_limit_is_logged_out_and_audited(client):
    user = UserFactory(role="operator")
    client.force_login(user)
    set_last_activity(client, 31 * 60)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("web:login"))
    assert "_auth_user_id" not in client.session
    entry = AuditEntry.objects.filter(action=AuditAction.LOGOUT).get()
    assert entry.details["reason"] == "idle_timeout" and entry.actor == user
    assert "长时间未操作" in client.get(response["Location"]).content.decode()


def test_a_session_active_within_the_limit_stays(client):
    client.force_login(UserFactory())
    set_last_activity(client, 29 * 60)
    assert client.get("/").status_code == 200
    assert time.time() - last_activity(client) < 120


def test_the_idle_limit_follows_the_setting(client, settings):
    settings.CITYOPS_SESSION_IDLE_MINUTES = 5
    client.force_login(UserFactory())
    set_last_activity(client, 6 * 60)
    assert client.get("/").status_code == 302


def test_the_notification_poll_does_not_keep_a_session_alive(client):
    client.force_login(UserFactory(role="operator"))
    set_last_activity(client, 20 * 60)
    stamp = last_activity(client)
    assert client.get(reverse("cases:notification_count"), HTTP_HX_REQUEST="true").status_code == 200
    assert last_activity(client) == stamp
    client.get("/")
    assert last_activity(client) > stamp


def test_a_poll_after_the_timeout_sends_the_browser_to_the_login_page(client):
    client.force_login(UserFactory(role="operator"))
    set_last_activity(client, 31 * 60)
    response = client.get(reverse("cases:notification_count"), HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == reverse("web:login")


def test_a_json_fetch_after_the_timeout_gets_a_json_401(client):
    client.force_login(UserFactory(role="leader"))
    set_last_activity(client, 31 * 60)
    response = client.get("/", HTTP_ACCEPT="application/json")
    assert response.status_code == 401 and response.json()["code"] == "session_expired"


def test_without_the_single_session_rule_two_logins_coexist(settings):
    settings.CITYOPS_SINGLE_SESSION = False
    UserFactory(username="twice", role="operator")
    first, second = Client(), Client()
    login(first, "twice")
    login(second, "twice")
    assert first.get("/").status_code == 200 and second.get("/").status_code == 200


def test_with_the_single_session_rule_a_new_login_ends_the_other_session(settings):
    settings.CITYOPS_SINGLE_SESSION = True
    user = UserFactory(username="once", role="operator")
    first, second = Client(), Client()
    login(first, "once")
    login(second, "once")
    assert second.get("/").status_code == 200
    response = first.get("/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("web:login"))
    entry = AuditEntry.objects.filter(action=AuditAction.LOGOUT, actor=user).get()
    assert entry.details["reason"] == "replaced_by_new_login"


def test_the_single_session_rule_also_ends_sessions_the_store_still_holds(settings):
    # A session store that couldn't delete the old session (e.g. signed cookies): the
    # middleware compares the session with the account's current one on every request.
    settings.CITYOPS_SINGLE_SESSION = True
    user = UserFactory(username="stale", role="operator")
    first = Client()
    login(first, "stale")
    type(user).objects.filter(pk=user.pk).update(current_session_key="a-newer-session")
    response = first.get("/")
    assert response.status_code == 302 and "_auth_user_id" not in first.session
    assert "其他地方登录" in first.get(response["Location"]).content.decode()


def test_a_logout_is_audited(client):
    user = UserFactory()
    client.force_login(user)
    client.post(reverse("web:logout"))
    entry = AuditEntry.objects.filter(action=AuditAction.LOGOUT).get()
    assert entry.details["reason"] == "user" and entry.actor == user
