"""Pay at start-up what the first visitors would otherwise pay.

A fresh process resolves its URL map, compiles every template, imports the view modules'
lazy dependencies and fills the reference caches on the first request that needs them: the
first /dashboard/ after a start took 10 s on a busy 2-core machine. `cityops serve` calls
`warm_up()` after its checks and before it listens, so the first sign-in and the first
dashboard cost what every later one does.

Read-only: pages are rendered by calling their views with a GET request built here, as the
first active user holding the page's role; nothing is written, no session is created.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import get_hasher
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import get_template
from django.test import RequestFactory
from django.urls import get_resolver, resolve

from cityops.accounts.selectors import ROLE_LOOKUP

logger = logging.getLogger("cityops.web.warmup")

# (path, role whose first active user renders it): the pages people open first.
WARM_PAGES: list[tuple[str, str]] = [
    ("/", "leader"),
    ("/dashboard/", "leader"),
    ("/", "dispatcher"),
]


def _project_templates() -> list[str]:
    names = []
    for config in apps.get_app_configs():
        if not config.name.startswith("cityops."):
            continue
        root = Path(config.path) / "templates"
        names += [str(path.relative_to(root)) for path in root.rglob("*.html")]
    return sorted(names)


def _render(path: str, role: str) -> int | None:
    user = get_user_model().objects.filter(is_active=True, **{ROLE_LOOKUP: role}).order_by("pk").first()
    if user is None:
        return None
    request = RequestFactory().get(path, HTTP_HOST="127.0.0.1")
    request.user = user
    request.session = {}
    match = resolve(path)
    response = match.func(request, *match.args, **match.kwargs)
    if hasattr(response, "render") and not getattr(response, "is_rendered", True):
        response.render()
    return response.status_code


def warm_up() -> dict[str, float]:
    """Warm this process; returns the seconds each part took. Never raises."""
    timings: dict[str, float] = {}

    def step(name: str, action) -> None:
        started = time.perf_counter()
        try:
            action()
        except Exception:  # a warm-up failure must never keep the server from starting
            logger.warning("warm-up step %s failed", name, exc_info=True)
        timings[name] = round(time.perf_counter() - started, 3)

    step("urls", lambda: get_resolver()._populate())

    def templates() -> None:
        for name in _project_templates():
            try:
                get_template(name)
            except (TemplateDoesNotExist, TemplateSyntaxError):
                logger.warning("template %s does not compile", name)

    step("templates", templates)
    step("password hasher", lambda: get_hasher().encode("warm-up", get_hasher().salt()))
    for path, role in WARM_PAGES:
        step(f"{path} as {role}", lambda path=path, role=role: _render(path, role))
    logger.info("warm-up: %s", ", ".join(f"{name} {seconds:.2f} s" for name, seconds in timings.items()))
    return timings
