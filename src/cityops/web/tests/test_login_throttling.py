"""等保 2.0 身份鉴别 (登录失败处理) — django-axes locks an account and, separately, a source address."""

import pytest
from django.test import Client
from django.urls import reverse

from cityops.accounts.tests.factories import UserFactory
from cityops.api.tests.client import ApiClient

pytestmark = pytest.mark.django_db

PASSWORD = "Demo-pass-123"


def attempt(username: str, password: str, ip: str):
    return Client().post(reverse("web:login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_failures_on_one_account_from_many_addresses_lock_that_account(settings):
    UserFactory(username="target", role="operator")
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt("target", "wrong-password", f"10.0.0.{n + 1}")
    response = attempt("target", PASSWORD, "10.0.1.1")
    assert response.status_code == 429 and "登录失败次数过多" in response.content.decode()


def test_failures_from_one_address_on_many_accounts_lock_that_address(settings):
    UserFactory(username="innocent", role="operator")
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(f"guess{n}", "wrong-password", "10.0.2.2")
    assert attempt("innocent", PASSWORD, "10.0.2.2").status_code == 429
    # The account itself is not locked: from another address it still signs in.
    assert attempt("innocent", PASSWORD, "10.0.2.3").status_code == 302


def test_failures_below_the_limit_do_not_lock(settings):
    UserFactory(username="typo", role="operator")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt("typo", "wrong-password", "10.0.3.3")
    assert attempt("typo", PASSWORD, "10.0.3.3").status_code == 302


def test_the_locked_page_names_the_configured_cool_off(settings):
    from datetime import timedelta

    settings.AXES_COOLOFF_TIME = timedelta(minutes=30)
    UserFactory(username="slow", role="operator")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt("slow", "wrong-password", "10.0.4.4")
    assert "请 30 分钟后再试" in attempt("slow", PASSWORD, "10.0.4.4").content.decode()


def test_an_existing_token_stops_working_once_an_administrator_resets_the_password(db):
    user = UserFactory(role="operator")
    api = ApiClient(user)
    assert api.get("/departments").status_code == 200
    user.set_password("Harbour-lights7")  # an administrator's reset: an initial password
    user.save()
    response = api.get("/departments")
    assert response.status_code == 403
    assert response.json()["code"] == "password_change_required" and "初始密码" in response.json()["message"]


def test_an_existing_token_stops_working_once_the_password_expires(db):
    from datetime import timedelta

    from django.utils import timezone

    user = UserFactory(role="operator")
    api = ApiClient(user)
    type(user).objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - timedelta(days=91))
    response = api.get("/departments")
    assert response.status_code == 403
    assert response.json() == {
        "code": "password_change_required", "message": "密码已过期，请先登录网页修改密码。", "details": {"reason": "expired"},
    }


def test_no_token_is_issued_for_an_expired_password(db):
    from datetime import timedelta

    from django.utils import timezone

    user = UserFactory(username="stale")
    type(user).objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - timedelta(days=91))
    response = ApiClient().post("/auth/token", {"username": "stale", "password": PASSWORD})
    assert response.status_code == 403 and response.json()["details"] == {"reason": "expired"}


def test_the_locked_page_speaks_english_with_the_configured_cool_off(settings):
    from datetime import timedelta

    settings.AXES_COOLOFF_TIME = timedelta(minutes=20)
    UserFactory(username="lost", role="operator")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt("lost", "wrong-password", "10.0.5.5")
    english = Client()
    english.cookies.load({settings.LANGUAGE_COOKIE_NAME: "en"})  # chosen with the header's switch
    html = english.post(reverse("web:login"), {"username": "lost", "password": PASSWORD}, REMOTE_ADDR="10.0.5.5").content.decode()
    assert "Try again in 20 minutes" in html and "分钟后再试" not in html
