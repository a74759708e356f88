"""Browser-facing hardening that holds on every page: the Content-Security-Policy and the other
security headers, templates that never need 'unsafe-inline' for scripts, and CSRF checks on
every cookie-authenticated form (csrf_exempt only where a key, not a cookie, authenticates)."""

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from cityops.accounts.tests.factories import UserFactory
from cityops.testing.pages import EVENT_HANDLER, INLINE_SCRIPT, STYLE_ELEMENT

pytestmark = pytest.mark.django_db
SRC = Path(__file__).resolve().parents[2]  # src/cityops

JS_URL = re.compile(r"(href|src|action)\s*=\s*[\"']\s*javascript:", re.IGNORECASE)
HTMX_EVAL = re.compile(r"\bhx-on\b|hx-on:|hx-vals=[\"']\s*js:|hx-trigger=\"[^\"]*\[", re.IGNORECASE)

# Views that skip CSRF, and why: each authenticates with an API key or does nothing.
CSRF_EXEMPT_ALLOWED = {
    "api/v1.py",  # JSON 404 for unknown /api/ paths: reads nothing, writes nothing
    "api/open311.py",  # Open311 POST authenticates with api_key; no cookie is consulted
    "ops/views.py",  # benchmark insert endpoint, 404 unless CITYOPS_BENCHMARK_ENDPOINTS
}


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


@pytest.mark.parametrize("url", ["/login/", "/report/", "/track/"])
def test_pages_carry_a_strict_content_security_policy(client, url):
    response = client.get(url)
    csp = policy(response)
    assert csp["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert csp["default-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"] and csp["form-action"] == ["'self'"]
    assert csp["connect-src"] == ["'self'"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]


def test_signed_in_pages_and_json_answers_carry_the_other_security_headers(client):
    client.force_login(UserFactory(role="leader"))
    for url in (reverse("web:home"), "/api/v1/"):
        response = client.get(url, follow=True)
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert "Content-Security-Policy" in response


def _templates():
    return sorted(SRC.glob("*/templates/**/*.html"))


def test_no_template_has_inline_script_event_handler_style_element_or_eval():
    assert len(_templates()) > 50
    found = []
    for path in _templates():
        text = path.read_text(encoding="utf-8")
        for name, pattern in (("inline <script>", INLINE_SCRIPT), ("on*= handler", EVENT_HANDLER),
                              ("<style> element", STYLE_ELEMENT), ("javascript: URL", JS_URL), ("htmx eval", HTMX_EVAL)):
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(SRC)}:{line}: {name}")
    assert not found, "\n".join(found)


def test_htmx_is_configured_not_to_inject_styles_or_eval():
    base = (SRC / "web/templates/web/base.html").read_text(encoding="utf-8")
    assert '"includeIndicatorStyles":false' in base and '"allowEval":false' in base
    assert ".htmx-indicator" in (SRC / "web/static/cityops/app.css").read_text(encoding="utf-8")


def test_csrf_exemptions_are_only_the_key_authenticated_and_inert_views():
    exempt = {
        str(path.relative_to(SRC))
        for path in SRC.glob("*/*.py")
        if "@csrf_exempt" in path.read_text(encoding="utf-8")
    }
    assert exempt == set(CSRF_EXEMPT_ALLOWED)


def test_forms_posted_without_a_csrf_token_are_refused():
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/report/", {"description": "x"}).status_code == 403
    assert strict.post("/login/", {"username": "a", "password": "b"}).status_code == 403
    strict.force_login(UserFactory(role="operator"))
    assert strict.post(reverse("web:logout")).status_code == 403
