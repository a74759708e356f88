"""Production requires the second factor for the administrators and leaders by default, and
`check --deploy` fails when the three admin roles are not all bound (finding 8)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cityops.accounts.checks import check_second_factor_roles

ROOT = Path(__file__).resolve().parents[4]
DEFAULT = ["sysadmin", "secadmin", "auditor", "leader"]


def ids(issues) -> set[str]:
    return {issue.id for issue in issues}


def test_the_production_default_passes_the_check(settings):
    settings.OTP_REQUIRED_ROLES = DEFAULT
    assert check_second_factor_roles() == []


@pytest.mark.parametrize("roles", [[], ["leader"], ["sysadmin", "secadmin", "leader"]])
def test_a_list_without_all_three_admin_roles_is_an_error(settings, roles):
    settings.OTP_REQUIRED_ROLES = roles
    settings.CITYOPS_ALLOW_NO_OTP = False
    issues = check_second_factor_roles()
    assert "cityops.accounts.E001" in ids(issues)
    assert all(issue.is_serious() for issue in issues if issue.id == "cityops.accounts.E001")


def test_the_explicit_waiver_turns_the_error_into_a_warning(settings):
    settings.OTP_REQUIRED_ROLES = []
    settings.CITYOPS_ALLOW_NO_OTP = True
    issues = check_second_factor_roles()
    assert ids(issues) == {"cityops.accounts.W002"} and not any(issue.is_serious() for issue in issues)


def test_a_list_without_leaders_warns(settings):
    settings.OTP_REQUIRED_ROLES = ["sysadmin", "secadmin", "auditor"]
    assert ids(check_second_factor_roles()) == {"cityops.accounts.W001"}


def test_an_unknown_role_name_is_an_error(settings):
    settings.OTP_REQUIRED_ROLES = [*DEFAULT, "secadmn"]
    assert ids(check_second_factor_roles()) == {"cityops.accounts.E002"}


# ---------------------------------------------------------------- the production profile itself


def _production(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "k" * 20 + "Z9x!q@w#e$r%t^y&u*i(o)p_a+s-d=f[g]h;j'l,z.x/c" + "m" * 10,
        "ALLOWED_HOSTS": "cityops.example.gov.cn",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        "CITYOPS_VAR_DIR": str(tmp_path),
        "CITYOPS_AUDIT_HMAC_KEY": "test-audit-key-" + "a" * 40,
        **env,
    }
    for name in ("OTP_REQUIRED_ROLES", "CITYOPS_ALLOW_NO_OTP", "DJANGO_ALLOW_ASYNC_UNSAFE"):
        if name not in env:
            environment.pop(name, None)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, check=False)


def test_production_requires_the_second_factor_for_admins_and_leaders_by_default(tmp_path):
    result = _production(tmp_path, "shell", "-c", "from django.conf import settings; print(','.join(settings.OTP_REQUIRED_ROLES))")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == ",".join(DEFAULT)


def test_production_refuses_an_empty_list_without_the_waiver(tmp_path):
    result = _production(tmp_path, "check", OTP_REQUIRED_ROLES="none")
    assert result.returncode != 0 and "CITYOPS_ALLOW_NO_OTP" in result.stderr


def test_check_deploy_fails_when_the_admin_roles_are_not_bound(tmp_path):
    result = _production(tmp_path, "check", "--deploy", OTP_REQUIRED_ROLES="leader")
    assert result.returncode != 0
    assert "cityops.accounts.E001" in result.stdout + result.stderr
