"""`make run` as the main job: DEBUG off, Chinese error pages (JSON under the API), Chinese
whatever the browser says with an explicit switch, static files through WhiteNoise."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory
from django.urls import reverse

from cityops.accounts.tests.factories import UserFactory
from cityops.cases.tests.factories import DepartmentFactory, LeafCategoryFactory, make_case
from cityops.web.views import permission_denied, server_error

ROOT = Path(__file__).resolve().parents[4]
ENGLISH_BROWSER = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL")}
    env.update({"CITYOPS_VAR_DIR": str(tmp_path), "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]), **extra})
    return env


def test_the_settings_of_cityops_serve_have_debug_off(tmp_path):
    probe = "import config.settings.local as s; print(s.DEBUG, s.WHITENOISE_USE_FINDERS, sorted(s.ALLOWED_HOSTS))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=_clean_env(tmp_path), capture_output=True, text=True, check=True)
    debug, finders, hosts = out.stdout.strip().split(" ", 2)
    assert (debug, finders) == ("False", "True")
    assert "127.0.0.1" in hosts and "localhost" in hosts


@pytest.mark.django_db
def test_a_missing_page_is_chinese_for_an_english_browser_and_shows_no_url_map(client):
    response = client.get("/no-such-page/", **ENGLISH_BROWSER)
    body = response.content.decode()
    assert response.status_code == 404
    assert "页面不存在" in body and 'lang="zh-hans"' in body
    assert "URLconf" not in body and "urlpatterns" not in body


@pytest.mark.django_db
def test_a_case_the_user_may_not_see_answers_the_same_chinese_404(client):
    own, other = DepartmentFactory(code="own-dept"), DepartmentFactory(code="other-dept")
    case = make_case(category=LeafCategoryFactory())
    client.force_login(UserFactory(role="department", department=own))
    assert other.pk != own.pk
    response = client.get(reverse("cases:detail", args=[case.number]), **ENGLISH_BROWSER)
    assert response.status_code == 404
    assert "页面不存在" in response.content.decode()


@pytest.mark.django_db
def test_a_refused_page_is_a_chinese_403_for_people_and_json_under_the_api():
    request = RequestFactory().get("/admin/audit/auditentry/1/delete/", **ENGLISH_BROWSER)
    request.user = UserFactory(role="auditor")
    page = permission_denied(request, PermissionDenied())
    assert page.status_code == 403 and "无权访问" in page.content.decode()
    api = permission_denied(RequestFactory().get("/api/v2/anything"), PermissionDenied())
    assert api.status_code == 403 and json.loads(api.content)["code"] == "forbidden"


def test_a_server_error_is_a_chinese_page_for_people_and_json_under_the_api():
    page = server_error(RequestFactory().get("/dashboard/"))
    assert page.status_code == 500 and "系统出错" in page.content.decode()
    api = server_error(RequestFactory().get("/api/v1/cases"))
    assert api.status_code == 500
    assert json.loads(api.content)["code"] == "server_error"


@pytest.mark.django_db
def test_an_unknown_path_under_the_api_answers_json_not_html(client):
    response = client.get("/api/no-such-endpoint", **ENGLISH_BROWSER)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "not_found"


@pytest.mark.django_db
def test_a_failed_csrf_check_is_explained_in_chinese():
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("web:login"), {"username": "x", "password": "y"}, **ENGLISH_BROWSER)
    assert response.status_code == 403
    assert "页面已过期" in response.content.decode()


@pytest.mark.django_db
def test_a_bad_request_is_a_chinese_page(client, settings):
    settings.ALLOWED_HOSTS = ["127.0.0.1", "testserver"]
    response = client.get("/login/", HTTP_HOST="evil.example.com", **ENGLISH_BROWSER)
    assert response.status_code == 400
    assert "请求无法处理" in response.content.decode()


@pytest.mark.django_db
def test_the_browser_language_alone_never_switches_the_interface_to_english(client):
    body = client.get(reverse("web:login"), **ENGLISH_BROWSER).content.decode()
    assert 'lang="zh-hans"' in body and "用户登录" in body


@pytest.mark.django_db
def test_the_header_switch_chooses_english_and_back(client):
    switch = client.get(reverse("web:login")).content.decode()
    assert 'class="langswitch"' in switch and 'value="en"' in switch
    client.post(reverse("set_language"), {"language": "en", "next": "/login/"})
    assert 'lang="en"' in client.get(reverse("web:login"), **ENGLISH_BROWSER).content.decode()
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/login/"}, **ENGLISH_BROWSER)
    assert 'lang="zh-hans"' in client.get(reverse("web:login"), **ENGLISH_BROWSER).content.decode()


@pytest.mark.django_db
def test_the_switch_is_not_the_submit_button_of_the_page(client):
    """Scripts and people pressing "the form's submit button" get the login, not a language."""
    body = client.get(reverse("web:login")).content.decode()
    switch = body[body.index('class="langswitch"'):body.index("</form>", body.index('class="langswitch"'))]
    assert 'type="submit"' not in switch


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, **headers: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def test_cityops_serve_answers_chinese_404s_and_serves_static_files_with_debug_off(tmp_path):
    """The real `cityops serve` of `make run` (an empty database is enough for these pages)."""
    port = _free_port()
    env = _clean_env(tmp_path, PORT=str(port), DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
                     CITYOPS_INPROCESS_SCHEDULER="0")
    proc = subprocess.Popen([sys.executable, "-m", "cityops.cli", "serve", "--no-warm-up"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                status, _ = _get(f"{base}/static/cityops/app.css")
                break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None and time.monotonic() < deadline, "cityops serve did not start"
                time.sleep(0.3)
        assert status == 200
        status, body = _get(f"{base}/no-such-page/", **{"Accept-Language": "en-US,en"})
        assert status == 404
        assert "页面不存在" in body and "URLconf" not in body and "Django" not in body
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.django_db
def test_the_header_shows_no_template_comment(client):
    body = client.get(reverse("web:login")).content.decode()
    assert "{#" not in body and "#}" not in body
