"""等保 2.0 身份鉴别 (登录失败处理) — failures lock an account from one address (AXES_FAILURE_LIMIT)
and from every address (CITYOPS_ACCOUNT_FAILURE_LIMIT), never an address as such
(cityops.accounts.lockout); a per-address request rate is the only brake on an address."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from cityops.accounts.tests.factories import UserFactory
from cityops.api.tests.client import ApiClient
from cityops.common import ratelimit
from cityops.common.tests.ratelimit_clock import frozen_ratelimit_clock

pytestmark = pytest.mark.django_db

PASSWORD = "Demo-pass-123"


def attempt(username: str, password: str, ip: str):
    return Client().post(reverse("web:login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def age_failures(minutes: int) -> None:
    """Let `minutes` pass for every recorded failure (axes counts from the latest one)."""
    for row in AccessAttempt.objects.all():
        AccessAttempt.objects.filter(pk=row.pk).update(attempt_time=row.attempt_time - timedelta(minutes=minutes))


def test_failures_on_one_account_from_many_addresses_lock_that_account(settings):
    UserFactory(username="target", role="operator")
    for n in range(settings.CITYOPS_ACCOUNT_FAILURE_LIMIT):
        attempt("target", "wrong-password", f"10.0.0.{n + 1}")
    response = attempt("target", PASSWORD, "10.0.1.1")
    assert response.status_code == 429 and "登录失败次数过多" in response.content.decode()


def test_failures_from_one_address_below_the_account_limit_lock_the_account_from_that_address_only(settings):
    UserFactory(username="target", role="operator")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt("target", "wrong-password", "10.0.6.6")
    assert attempt("target", PASSWORD, "10.0.6.6").status_code == 429
    # The owner at their own desk is not locked out by a stranger's guesses.
    assert attempt("target", PASSWORD, "10.0.6.7").status_code == 302


def test_failures_from_one_address_on_other_accounts_do_not_lock_out_a_colleague_behind_it(settings):
    # Finding 6 (DoS): five wrong passwords locked everyone behind the address for 15 minutes.
    UserFactory(username="innocent", role="operator")
    UserFactory(username="clumsy", role="operator")
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(f"guess{n}", "wrong-password", "10.0.2.2")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt("clumsy", "wrong-password", "10.0.2.2")
    assert attempt("innocent", PASSWORD, "10.0.2.2").status_code == 302
    # The account whose password was mistyped is locked, from that address.
    assert attempt("clumsy", PASSWORD, "10.0.2.2").status_code == 429


def test_signing_in_to_another_account_does_not_wipe_the_failures_of_the_guessed_one(settings):
    # Finding 6 (bypass): 16 wrong guesses on dept-street-003, each batch followed by a login to
    # the attacker's own account from the same address, then the right password opened it.
    UserFactory(username="dept-street-003", role="department")
    UserFactory(username="insider", role="operator")
    for _ in range(4):
        for _ in range(4):
            attempt("dept-street-003", "wrong-password", "10.0.7.7")
        assert attempt("insider", PASSWORD, "10.0.7.7").status_code == 302
    assert attempt("dept-street-003", PASSWORD, "10.0.7.7").status_code == 429


def test_a_success_clears_only_its_own_address_so_the_guesser_elsewhere_stays_locked(settings):
    UserFactory(username="target", role="operator")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt("target", "wrong-password", "10.0.8.8")
    assert attempt("target", PASSWORD, "10.0.8.9").status_code == 302  # the owner, at their desk
    attempt("target", "wrong-password", "10.0.8.8")
    assert attempt("target", PASSWORD, "10.0.8.8").status_code == 429


def test_a_success_clears_the_users_own_earlier_failures(settings):
    UserFactory(username="typo", role="operator")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt("typo", "wrong-password", "10.0.9.9")
    assert attempt("typo", PASSWORD, "10.0.9.9").status_code == 302
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt("typo", "wrong-password", "10.0.9.9")
    assert attempt("typo", PASSWORD, "10.0.9.9").status_code == 302


def test_attempts_during_a_lock_do_not_extend_it(settings):
    # Finding 6: every attempt during the lock restarted the 15 minutes.
    UserFactory(username="patient", role="operator")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt("patient", "wrong-password", "10.0.10.10")
    age_failures(10)
    assert attempt("patient", "wrong-password", "10.0.10.10").status_code == 429
    assert attempt("patient", PASSWORD, "10.0.10.10").status_code == 429
    age_failures(6)  # 16 minutes after the failure that set the lock
    assert attempt("patient", PASSWORD, "10.0.10.10").status_code == 302


def test_a_lock_lasts_the_cool_off(settings):
    UserFactory(username="patient", role="operator")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt("patient", "wrong-password", "10.0.11.11")
    age_failures(14)
    assert attempt("patient", PASSWORD, "10.0.11.11").status_code == 429


def test_a_hundred_seat_center_behind_one_address_signs_in_within_the_default_rate(settings):
    settings.CITYOPS_RATE_LIMITS = {}  # the defaults, login included
    cache.clear()
    assert ratelimit.rate_for("login") == "300/5m"
    users = [UserFactory(username=f"seat{n:03d}", role="operator").username for n in range(100)]
    with frozen_ratelimit_clock():
        for username in users:  # everyone mistypes once, then signs in
            assert attempt(username, "wrong-password", "10.0.12.12").status_code == 200
            assert attempt(username, PASSWORD, "10.0.12.12").status_code == 302, username
    cache.clear()


def test_beyond_the_per_address_rate_the_login_is_refused_with_a_chinese_page(settings):
    settings.CITYOPS_RATE_LIMITS = {"login": (3, 300)}
    cache.clear()
    UserFactory(username="late", role="operator")
    with frozen_ratelimit_clock():
        for n in range(3):
            attempt(f"nobody{n}", "wrong-password", "10.0.13.13")
        response = attempt("late", PASSWORD, "10.0.13.13")
        assert response.status_code == 429 and "请求过于频繁" in response.content.decode()
        # Only that address is braked, and no account got locked.
        assert attempt("late", PASSWORD, "10.0.13.14").status_code == 302
    assert not AccessAttempt.objects.filter(username="late").exists()
    cache.clear()


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
