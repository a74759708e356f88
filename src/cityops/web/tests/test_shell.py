"""The web shell: Chinese login page, role-aware home, throttled login, deploy checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from cityops.accounts.tests.factories import UserFactory
from cityops.cli import translate

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[4]


def test_login_page_speaks_chinese(client):
    response = client.get(reverse("web:login"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "用户登录" in body and 'lang="zh-hans"' in body


def test_home_requires_login(client):
    response = client.get(reverse("web:home"))
    assert response.status_code == 302 and reverse("web:login") in response["Location"]


def test_login_with_a_demo_style_account_reaches_the_home_page(client):
    UserFactory(username="operator", role="operator")
    response = client.post(reverse("web:login"), {"username": "operator", "password": "Demo-pass-123"}, follow=True)
    assert response.status_code == 200
    assert "受理员" in response.content.decode()


def test_wrong_password_shows_a_chinese_error(client):
    UserFactory(username="operator", role="operator")
    response = client.post(reverse("web:login"), {"username": "operator", "password": "wrong"})
    assert response.status_code == 200
    assert "请输入一个正确的" in response.content.decode()


def test_repeated_failures_lock_the_account(client, settings):
    UserFactory(username="dispatcher", role="dispatcher")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("web:login"), {"username": "dispatcher", "password": "wrong"})
    response = client.post(reverse("web:login"), {"username": "dispatcher", "password": "Demo-pass-123"})
    assert response.status_code == 429
    assert "登录失败次数过多" in response.content.decode()


def test_home_shows_only_the_admin_link_to_administrators(client):
    client.force_login(UserFactory(role="operator"))
    assert "管理后台" not in client.get(reverse("web:home")).content.decode()
    client.force_login(UserFactory(role="auditor"))
    assert "管理后台" in client.get(reverse("web:home")).content.decode()


def test_english_is_available_through_the_translation_machinery(client):
    client.cookies.load({"django_language": "en"})
    response = client.get(reverse("web:login"), HTTP_ACCEPT_LANGUAGE="en")
    body = response.content.decode()
    assert 'lang="en"' in body and "Sign in" in body and "用户登录" not in body


def test_cli_maps_group_commands_to_management_commands():
    assert translate(["geo", "import", "f.geojson", "--level", "grid"]) == ["geo_import", "f.geojson", "--level", "grid"]
    assert translate(["serve"]) == ["serve"]
    assert translate(["demo"]) == ["demo"]


def test_production_profile_passes_check_deploy(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "k" * 20 + "Z9x!q@w#e$r%t^y&u*i(o)p_a+s-d=f[g]h;j'l,z.x/c" + "m" * 10,
        "ALLOWED_HOSTS": "cityops.example.gov.cn",
        "CITYOPS_AUDIT_HMAC_KEY": "audit-" + "Q7w" * 12,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        "CITYOPS_VAR_DIR": str(tmp_path),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests' conftest; never in a deployment
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_profile_refuses_to_start_without_a_secret_key():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.production", "SECRET_KEY": ""}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
