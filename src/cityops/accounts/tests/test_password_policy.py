"""等保 2.0 身份鉴别 — password complexity, history, expiry and the forced change of initial passwords."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from cityops.accounts.models import PasswordHistory, User
from cityops.accounts.services import password_change_by_owner
from cityops.accounts.tests.factories import UserFactory
from cityops.accounts.tests.helpers import codes_of
from cityops.audit.models import AuditAction, AuditEntry

pytestmark = pytest.mark.django_db

OLD = "Demo-pass-123"
CHANGE_URL = "/account/password/"


def change(client, new: str, old: str = OLD, **extra):
    return client.post(CHANGE_URL, {"old_password": old, "new_password1": new, "new_password2": new, **extra})


# ---------------------------------------------------------------- complexity


def test_a_password_of_three_classes_and_ten_characters_passes():
    assert codes_of("Harbour-lights7", UserFactory()) == set()


def test_a_short_password_is_refused_in_chinese():
    with pytest.raises(ValidationError) as exc:
        validate_password("Ab1-xyz", UserFactory())
    assert "password_too_short" in {e.code for e in exc.value.error_list}
    assert "至少需要 10 个字符" in " ".join(exc.value.messages)


def test_the_minimum_length_follows_the_setting(settings):
    settings.CITYOPS_PASSWORD_MIN_LENGTH = 14
    assert "password_too_short" in codes_of("Harbour-lit-7", UserFactory())  # 13
    assert "password_too_short" not in codes_of("Harbour-lite-7", UserFactory())  # 14


@pytest.mark.parametrize("password", ["harbourlightsfog", "harbourlights77", "HARBOUR-LIGHTS", "1234567890-=+"])
def test_a_password_of_fewer_than_three_character_classes_is_refused(password):
    assert "password_too_few_classes" in codes_of(password, UserFactory())


def test_two_classes_are_enough_when_the_setting_asks_for_two(settings):
    settings.CITYOPS_PASSWORD_MIN_CLASSES = 2
    assert "password_too_few_classes" not in codes_of("harbourlights77", UserFactory())


@pytest.mark.parametrize("password", ["Zhangwei-2024!", "x-ZHANGWEI-9a", "Iewgnahz-2024"])
def test_a_password_containing_the_username_is_refused(password):
    assert "password_contains_username" in codes_of(password, UserFactory(username="zhangwei"))


def test_the_current_password_cannot_be_set_again():
    assert "password_reused" in codes_of(OLD, UserFactory())


def test_none_of_the_last_five_passwords_can_be_reused_but_the_sixth_can():
    user = UserFactory()
    used = [f"Rotation-{n}-Alpha" for n in range(6)]
    for password in used:
        password_change_by_owner(user=user, new_password=password)
    assert PasswordHistory.objects.filter(user=user).count() == 5
    for password in used[1:]:
        assert "password_reused" in codes_of(password, user)
    assert "password_reused" not in codes_of(used[0], user)


def test_every_set_password_writes_the_history_and_restarts_the_clock():
    user = UserFactory()
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - timedelta(days=40))
    user.refresh_from_db()
    user.set_password("Harbour-lights7")
    user.save()
    assert PasswordHistory.objects.get(user=user).password == user.password
    assert timezone.now() - user.password_changed_at < timedelta(minutes=1)


def test_a_hash_upgrade_at_login_is_not_a_password_change(client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher", "django.contrib.auth.hashers.MD5PasswordHasher"]
    user = UserFactory(username="upgrader")  # hashed with MD5
    client.post(reverse("web:login"), {"username": "upgrader", "password": OLD})
    user.refresh_from_db()
    assert user.password.startswith("pbkdf2_")
    assert not user.must_change_password and not PasswordHistory.objects.filter(user=user).exists()


# ---------------------------------------------------------------- the change page


def test_the_change_page_speaks_chinese_and_lists_the_rules(client):
    client.force_login(UserFactory())
    body = client.get(CHANGE_URL).content.decode()
    assert "修改密码" in body and "至少 10 个字符" in body and "不能包含用户名" in body
    assert "<script>" not in body and "onclick" not in body


def test_changing_the_password_keeps_the_session_and_is_audited(client):
    user = UserFactory()
    client.force_login(user)
    response = change(client, "Harbour-lights7", next="/cases/")
    assert response.status_code == 302 and response["Location"] == "/cases/"
    user.refresh_from_db()
    assert user.check_password("Harbour-lights7")
    assert client.get(reverse("web:home")).status_code == 200
    entry = AuditEntry.objects.filter(action=AuditAction.ACCOUNT_CHANGE).get()
    assert entry.details["change"] == "password" and entry.actor == user


@pytest.mark.parametrize(
    ("new", "message"),
    [("Ab1-xyz", "密码太短"), ("harbourlightsfog", "至少 3 类"), (OLD, "最近 5 次")],
)
def test_the_change_page_refuses_weak_or_reused_passwords(client, new, message):
    user = UserFactory()
    client.force_login(user)
    response = change(client, new)
    assert response.status_code == 200 and message in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(OLD)


def test_the_change_page_refuses_a_wrong_current_password(client):
    client.force_login(UserFactory())
    response = change(client, "Harbour-lights7", old="not-my-password")
    assert response.status_code == 200 and "旧密码不正确" in response.content.decode()


def test_the_change_page_refuses_an_offsite_next():
    from django.test import Client

    client = Client()
    client.force_login(UserFactory())
    response = change(client, "Harbour-lights7", next="https://evil.example.com/")
    assert response["Location"] == reverse("web:home")


# ---------------------------------------------------------------- forced change


def test_a_user_created_by_create_user_has_an_initial_password():
    user = User.objects.create_user("newcomer", password="Harbour-lights7")
    assert user.must_change_password
    assert PasswordHistory.objects.filter(user=user).count() == 1


def test_createsuperuser_makes_an_initial_password(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "Harbour-lights7")
    call_command("createsuperuser", interactive=False, username="root", email="root@example.com", verbosity=0)
    assert User.objects.get(username="root").must_change_password


def test_an_administrator_creating_a_user_in_the_admin_sets_an_initial_password(client):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    response = client.post(reverse("admin:accounts_user_add"), {
        "username": "fresh", "usable_password": "true", "password1": "Harbour-lights7", "password2": "Harbour-lights7",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    assert User.objects.get(username="fresh").must_change_password


def test_the_admin_refuses_a_weak_initial_password(client):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    response = client.post(reverse("admin:accounts_user_add"), {
        "username": "fresh", "usable_password": "true", "password1": "short", "password2": "short",
    })
    assert response.status_code == 200 and not User.objects.filter(username="fresh").exists()


def test_a_password_reset_by_an_administrator_must_be_changed(client):
    target = UserFactory()
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    url = reverse("admin:auth_user_password_change", args=[target.pk])
    # The administrator chooses nothing: a random initial password is generated (accounts/tests/test_admin_reset.py).
    response = client.post(url, {"password1": "Harbour-lights7", "password2": "Harbour-lights7", "usable_password": "true"})
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.must_change_password and not target.check_password("Harbour-lights7")


def test_an_initial_password_sends_every_page_to_the_change_page(client):
    client.force_login(UserFactory(must_change_password=True, role="operator"))
    for url in ("/", "/admin/", "/account/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(CHANGE_URL), url
    body = client.get(CHANGE_URL).content.decode()
    assert "初始密码" in body
    assert "工作台" not in body  # no navigation to pages that would bounce back


def test_htmx_requests_are_redirected_by_header_not_by_a_swapped_page(client):
    client.force_login(UserFactory(must_change_password=True))
    response = client.get("/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Redirect"] == CHANGE_URL


def test_changing_the_initial_password_lifts_the_redirect(client):
    user = UserFactory(must_change_password=True)
    client.force_login(user)
    response = change(client, "Harbour-lights7", next="/")
    assert response.status_code == 302 and response["Location"] == "/"
    user.refresh_from_db()
    assert not user.must_change_password
    assert client.get("/").status_code == 200


def test_an_expired_password_sends_every_page_to_the_change_page(client, settings):
    user = UserFactory()
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - timedelta(days=91))
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith(CHANGE_URL)
    assert "密码已过期" in client.get(CHANGE_URL).content.decode()
    change(client, "Harbour-lights7")
    assert client.get("/").status_code == 200


def test_expiry_follows_the_setting_and_zero_disables_it(client, settings):
    user = UserFactory()
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - timedelta(days=31))
    client.force_login(user)
    assert client.get("/").status_code == 200
    settings.CITYOPS_PASSWORD_MAX_AGE_DAYS = 30
    assert client.get("/").status_code == 302
    settings.CITYOPS_PASSWORD_MAX_AGE_DAYS = 0
    assert client.get("/").status_code == 200


def test_the_home_page_warns_two_weeks_before_expiry(client):
    user = UserFactory()
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - timedelta(days=80))
    client.force_login(user)
    assert "您的密码将于" in client.get("/").content.decode()


def test_demo_accounts_need_no_forced_change():
    from cityops.accounts.demo import demo_accounts_ensure
    from cityops.accounts.services import roles_sync

    roles_sync()
    User.objects.create_user("operator", password="Harbour-lights7")  # an earlier, initial password
    demo_accounts_ensure("Demo-pass-123")
    assert not User.objects.filter(must_change_password=True).exists()
    assert User.objects.get(username="operator").check_password("Demo-pass-123")
