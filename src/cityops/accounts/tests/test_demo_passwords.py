"""Finding 9: the shared demo password was not in the demo accounts' password history, and
`make run-prod` gave the three administrator accounts that shared password with no forced change."""

import io
import re

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command

from cityops.accounts.demo import CENTER_ACCOUNTS, admin_initial_passwords_ensure, demo_accounts_ensure
from cityops.accounts.models import PasswordHistory, User
from cityops.accounts.services import password_change_by_owner, roles_sync
from cityops.ops import run_prod

pytestmark = pytest.mark.django_db

DEMO = "Demo-pass-123"
ADMINS = {"sysadmin", "secadmin", "auditor"}


@pytest.fixture
def demo_accounts():
    roles_sync()
    demo_accounts_ensure(DEMO)


def test_the_demo_password_is_in_every_demo_accounts_history(demo_accounts):
    for account in CENTER_ACCOUNTS:
        user = User.objects.get(username=account.username)
        assert user.check_password(DEMO)
        assert PasswordHistory.objects.filter(user=user, password=user.password).exists()


def test_a_demo_account_cannot_change_back_to_the_demo_password(demo_accounts):
    user = User.objects.get(username="operator")
    password_change_by_owner(user=user, new_password="Harbour-lights7")
    with pytest.raises(ValidationError) as exc:
        validate_password(DEMO, user)
    assert "password_reused" in {error.code for error in exc.value.error_list}


def test_reloading_the_demo_does_not_fill_the_history(demo_accounts):
    demo_accounts_ensure(DEMO)
    demo_accounts_ensure(DEMO)
    assert PasswordHistory.objects.filter(user__username="operator").count() == 1


def test_seeded_admin_accounts_get_their_own_initial_passwords_to_be_changed(demo_accounts):
    demo_accounts_ensure(DEMO, admin_initial_passwords=True)
    issued = dict(admin_initial_passwords_ensure(DEMO))
    assert set(issued) == ADMINS and len(set(issued.values())) == 3 and DEMO not in issued.values()
    for username, password in issued.items():
        user = User.objects.get(username=username)
        assert user.check_password(password) and not user.check_password(DEMO) and user.must_change_password
    # Printed once: a second run has nothing to issue.
    assert admin_initial_passwords_ensure(DEMO) == []


def test_the_other_demo_accounts_keep_the_shared_password(demo_accounts):
    demo_accounts_ensure(DEMO, admin_initial_passwords=True)
    admin_initial_passwords_ensure(DEMO)
    operator = User.objects.get(username="operator")
    assert operator.check_password(DEMO) and not operator.must_change_password


def test_an_admin_initial_password_can_come_from_the_environment(demo_accounts, monkeypatch):
    monkeypatch.setenv("CITYOPS_INITIAL_PASSWORD_SYSADMIN", "Harbour-lights7")
    issued = dict(admin_initial_passwords_ensure(DEMO))
    assert issued["sysadmin"] is None  # not printed: whoever set it knows it
    user = User.objects.get(username="sysadmin")
    assert user.check_password("Harbour-lights7") and user.must_change_password


def test_the_demo_password_is_refused_as_an_admin_initial_password(demo_accounts, monkeypatch):
    monkeypatch.setenv("CITYOPS_INITIAL_PASSWORD_AUDITOR", DEMO)
    with pytest.raises(ValidationError):
        admin_initial_passwords_ensure(DEMO)
    assert User.objects.get(username="auditor").check_password(DEMO)  # nothing half-done


def test_reloading_the_demo_keeps_the_password_an_admin_chose(demo_accounts):
    demo_accounts_ensure(DEMO, admin_initial_passwords=True)
    admin_initial_passwords_ensure(DEMO)
    secadmin = User.objects.get(username="secadmin")
    password_change_by_owner(user=secadmin, new_password="Harbour-lights7")
    demo_accounts_ensure(DEMO, admin_initial_passwords=True)
    assert [name for name, _ in admin_initial_passwords_ensure(DEMO)] == []
    secadmin.refresh_from_db()
    assert secadmin.check_password("Harbour-lights7") and not secadmin.must_change_password


def test_the_demo_command_prints_each_admin_initial_password_once(demo_accounts, monkeypatch):
    monkeypatch.setenv("CITYOPS_DEMO_PASSWORD", DEMO)
    monkeypatch.setattr("cityops.web.management.commands.demo.demo_loaded", lambda password: True)
    out = io.StringIO()
    call_command("demo", "--admin-initial-passwords", stdout=out)
    printed = dict(re.findall(r"^\s+(sysadmin|secadmin|auditor)\s+(\S+)$", out.getvalue(), re.MULTILINE))
    assert set(printed) == ADMINS and "首次登录须修改" in out.getvalue()
    assert all(User.objects.get(username=name).check_password(password) for name, password in printed.items())
    again = io.StringIO()
    call_command("demo", "--admin-initial-passwords", stdout=again)
    assert not re.search(r"^\s+(sysadmin|secadmin|auditor)\s", again.getvalue(), re.MULTILINE)


def test_run_prod_seeds_the_demo_with_admin_initial_passwords(monkeypatch):
    calls = []
    monkeypatch.setattr(run_prod, "manage", lambda env, *args: calls.append(args))
    run_prod.prepare({})
    assert ("demo", "--admin-initial-passwords") in calls


def test_on_a_second_factor_stack_the_demo_prints_each_required_accounts_first_enrolment_code_once(demo_accounts, monkeypatch, settings):
    from django_otp.plugins.otp_static.models import StaticToken

    settings.OTP_REQUIRED_ROLES = ["sysadmin", "secadmin", "auditor", "leader"]
    monkeypatch.setenv("CITYOPS_DEMO_PASSWORD", DEMO)
    monkeypatch.setattr("cityops.web.management.commands.demo.demo_loaded", lambda password: True)
    out = io.StringIO()
    call_command("demo", "--admin-initial-passwords", stdout=out)
    codes = dict(re.findall(r"^\s+(\S+)\s+([A-Z0-9-]{8,})（有效期至", out.getvalue(), re.MULTILINE))
    leaders = {a.username for a in CENTER_ACCOUNTS if a.role == "leader"}
    assert set(codes) == ADMINS | leaders and "开通码" in out.getvalue()
    for username, code in codes.items():
        stored = StaticToken.objects.filter(device__user__username=username).values_list("token", flat=True)
        assert [t.replace("-", "").upper() for t in stored] == [code.replace("-", "")]
    again = io.StringIO()
    call_command("demo", "--admin-initial-passwords", stdout=again)
    assert "开通码" not in again.getvalue()


def test_without_a_required_second_factor_the_demo_issues_no_enrolment_codes(demo_accounts, monkeypatch):
    monkeypatch.setenv("CITYOPS_DEMO_PASSWORD", DEMO)
    monkeypatch.setattr("cityops.web.management.commands.demo.demo_loaded", lambda password: True)
    out = io.StringIO()
    call_command("demo", "--admin-initial-passwords", stdout=out)
    assert "开通码" not in out.getvalue()
