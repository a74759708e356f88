"""An administrator's password reset (issue 14, finding 9): the administrator chooses nothing,
the initial password expires and must be changed, the account's session ends, and the reset and
the change that follows are audited with the resetter, so nobody uses an account unnoticed."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cityops.accounts import roles
from cityops.accounts.models import User
from cityops.accounts.services import password_change_by_owner
from cityops.accounts.tests.factories import UserFactory
from cityops.audit.models import AuditAction, AuditEntry

pytestmark = pytest.mark.django_db


def reset(client, target) -> str:
    response = client.post(reverse("admin:auth_user_password_change", args=[target.pk]), follow=True)
    assert response.status_code == 200
    shown = next(str(m) for m in response.context["messages"] if "初始密码" in str(m))
    return shown.rsplit("：", 1)[1].strip()


@pytest.fixture
def sysadmin_client(client):
    sysadmin = UserFactory(role=roles.SYSADMIN)
    client.force_login(sysadmin)
    client.sysadmin = sysadmin
    return client


def test_the_administrator_cannot_choose_the_reset_password(sysadmin_client):
    target = UserFactory(role=roles.OPERATOR)
    sysadmin_client.post(reverse("admin:auth_user_password_change", args=[target.pk]),
                         {"password1": "Harbour-lights7", "password2": "Harbour-lights7"})
    target = User.objects.get(pk=target.pk)
    assert not target.check_password("Harbour-lights7") and target.must_change_password


def test_the_reset_password_is_random_shown_once_and_must_be_changed(sysadmin_client):
    target = UserFactory(role=roles.OPERATOR)
    password = reset(sysadmin_client, target)
    target = User.objects.get(pk=target.pk)
    assert target.check_password(password) and target.must_change_password
    assert target.password_reset_by == sysadmin_client.sysadmin.username
    page = sysadmin_client.get(reverse("admin:accounts_user_change", args=[target.pk])).content.decode()
    assert password not in page


def test_the_reset_password_expires(sysadmin_client, settings):
    settings.CITYOPS_RESET_PASSWORD_HOURS = 24
    target = UserFactory(role=roles.OPERATOR)
    password = reset(sysadmin_client, target)
    User.objects.filter(pk=target.pk).update(password_reset_at=timezone.now() - timedelta(hours=25))
    assert not User.objects.get(pk=target.pk).check_password(password)
    response = Client().post(reverse("web:login"), {"username": target.username, "password": password})
    assert not response.wsgi_request.user.is_authenticated


def test_the_reset_ends_the_owners_session(sysadmin_client):
    target = UserFactory(role=roles.OPERATOR)
    owner = Client()
    owner.force_login(target)
    key = owner.session.session_key
    User.objects.filter(pk=target.pk).update(current_session_key=key)
    reset(sysadmin_client, target)
    assert not Session.objects.filter(session_key=key).exists()


def test_the_reset_and_the_change_after_it_name_the_resetter(sysadmin_client):
    target = UserFactory(role=roles.OPERATOR)
    reset(sysadmin_client, target)
    entry = AuditEntry.objects.get(action=AuditAction.ACCOUNT_CHANGE, target=f"user:{target.username}",
                                   details__change="password_reset")
    assert entry.actor == sysadmin_client.sysadmin
    password_change_by_owner(user=User.objects.get(pk=target.pk), new_password="Owner-chosen-47")
    change = AuditEntry.objects.filter(action=AuditAction.ACCOUNT_CHANGE, details__change="password").latest("id")
    assert change.details["after_reset_by"] == sysadmin_client.sysadmin.username
    target = User.objects.get(pk=target.pk)
    assert not target.must_change_password and not target.password_reset_by and target.password_reset_at is None


def test_the_administrator_cannot_lift_the_initial_password_flag(sysadmin_client):
    target = UserFactory(role=roles.OPERATOR)
    reset(sysadmin_client, target)
    response = sysadmin_client.post(reverse("admin:accounts_user_change", args=[target.pk]), {
        "username": target.username, "display_name": target.display_name, "is_active": "on",
    })
    assert response.status_code == 200 and "本人" in response.content.decode()
    assert User.objects.get(pk=target.pk).must_change_password


def test_sysadmin_cannot_reset_another_administrators_password(sysadmin_client):
    for code in (roles.SECADMIN, roles.AUDITOR):
        target = UserFactory(role=code)
        response = sysadmin_client.post(reverse("admin:auth_user_password_change", args=[target.pk]))
        assert response.status_code == 403
