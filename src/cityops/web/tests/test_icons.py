"""Icons are inline SVG: a desktop without an emoji font (Linux, 信创) showed the 🔔 bell as a box."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

from cityops.accounts.tests.factories import UserFactory

SRC = Path(__file__).resolve().parents[2]
# Pictographs that need an emoji font (U+1F000–U+1FAFF: 🔔 📍 📷 …).
EMOJI = re.compile("[\U0001F000-\U0001FAFF]")


def test_base_template_has_no_emoji_bell():
    base = (SRC / "web" / "templates" / "web" / "base.html").read_text(encoding="utf-8")
    assert "🔔" not in base
    assert re.search(r'class="bell"[^>]*>\s*<svg', base)


def test_no_template_or_script_uses_an_emoji_as_an_icon():
    offenders = [
        f"{path.relative_to(SRC)}: {EMOJI.search(path.read_text(encoding='utf-8')).group()}"
        for pattern in ("*/templates/**/*.html", "*/static/**/*.js")
        for path in SRC.glob(pattern)
        if EMOJI.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


@pytest.mark.django_db
def test_the_bell_on_the_page_is_an_svg(client):
    client.force_login(UserFactory(role="dispatcher"))
    html = client.get(reverse("web:home")).content.decode()
    assert "🔔" not in html
    assert re.search(r'class="bell"[^>]*>\s*<svg', html)
