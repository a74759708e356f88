"""One declarative way for an app to plug in: what it adds to the menu, to the roles, to the
periodic schedule and to the hooks other apps call.

An app declares a `Plugin` (plain data, usually `PLUGIN` in its `plugin.py`) and its
AppConfig returns it from a `plugin()` method (an ordinary import inside the method, so the
app's models are loaded first)::

    class AnalyticsConfig(AppConfig):
        def plugin(self):
            from cityops.analytics.plugin import PLUGIN
            return PLUGIN

The registry below collects the plugins of every installed app, in `INSTALLED_APPS` order, on
first use (from any `ready()` or later: it only needs the app configs, not their `ready()`),
and caches them. Readers: `web.navigation` (menu), `accounts.roles.ROLE_PERMISSIONS` (the role
table), `ops.scheduler` and `config/celery.py` (jobs), and whoever calls a hook kind.
Adding a menu entry, a permission, a job or a hook is an edit of the declaring app only.

This module is the lowest layer: it imports Django, never another cityops app.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.conf import settings
from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class NavItem:
    """One entry of the menu and the home page; `roles` empty: every signed-in user."""

    label: str
    url_name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    order: int = 100
    description: str = ""

    def visible_to(self, user) -> bool:
        if not user.is_authenticated:
            return False
        if not self.roles:
            return True
        return user.is_superuser or user.has_role(*self.roles)

    def url(self) -> str | None:
        try:
            return reverse(self.url_name)
        except NoReverseMatch:
            return None


@dataclass(frozen=True)
class Job:
    """One periodic job: its name (also the Celery task `cityops.<name>` and the `JobRun` row),
    the function that does the work (no arguments; returns a dict, or anything), how often
    (a setting or environment variable, with its default in seconds), and for Celery how late
    a tick may still run (`expires`) and how long it may take (`soft_time_limit`)."""

    name: str
    func: Callable[[], Any]
    setting: str
    default: float
    expires: float | None = None
    soft_time_limit: float | None = None

    @property
    def every(self) -> float:
        return float(getattr(settings, self.setting, None) or os.environ.get(self.setting) or self.default)


@dataclass(frozen=True)
class Plugin:
    """What one app adds. `permissions`: role code → permission names (`app_label.codename`)
    added to roles defined in `accounts.roles`; `hooks`: hook kind → callables."""

    nav: tuple[NavItem, ...] = ()
    permissions: Mapping[str, tuple[str, ...] | list[str]] = field(default_factory=dict)
    jobs: tuple[Job, ...] = ()
    hooks: Mapping[str, tuple[Callable[..., Any], ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Registry:
    plugins: tuple[tuple[str, Plugin], ...]  # (app label, its plugin), INSTALLED_APPS order

    def nav_items(self) -> list[NavItem]:
        return [item for _label, plugin in self.plugins for item in plugin.nav]

    def role_permissions(self) -> dict[str, list[str]]:
        merged: dict[str, list[str]] = {}
        for _label, plugin in self.plugins:
            for role, perms in plugin.permissions.items():
                granted = merged.setdefault(role, [])
                granted += [perm for perm in perms if perm not in granted]
        return merged

    def jobs(self) -> list[Job]:
        found = [job for _label, plugin in self.plugins for job in plugin.jobs]
        names = [job.name for job in found]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ImproperlyDeclared(f"periodic job declared twice: {', '.join(duplicates)}")
        return found

    def hooks(self, kind: str) -> tuple[Callable[..., Any], ...]:
        return tuple(func for _label, plugin in self.plugins for func in plugin.hooks.get(kind, ()))


class ImproperlyDeclared(Exception):
    """A plugin declaration that cannot work (e.g. two apps declare the same job name)."""


_lock = threading.Lock()
_registry: Registry | None = None


def collect() -> Registry:
    """The plugins of every installed app that declares one (`AppConfig.plugin()`)."""
    apps.check_apps_ready()
    found = []
    for config in apps.get_app_configs():
        declare = getattr(config, "plugin", None)
        if callable(declare):
            plugin = declare()
            if not isinstance(plugin, Plugin):
                raise ImproperlyDeclared(f"{config.label}.plugin() must return a Plugin, not {type(plugin).__name__}")
            found.append((config.label, plugin))
    return Registry(tuple(found))


def registry() -> Registry:
    global _registry
    if _registry is None:
        with _lock:
            if _registry is None:
                _registry = collect()
    return _registry


def reset() -> None:
    """Forget the collected plugins (tests that change the installed apps)."""
    global _registry
    _registry = None


def nav_items() -> list[NavItem]:
    return registry().nav_items()


def role_permissions() -> dict[str, list[str]]:
    return registry().role_permissions()


def jobs() -> list[Job]:
    return registry().jobs()


def hooks(kind: str) -> tuple[Callable[..., Any], ...]:
    return registry().hooks(kind)


def _on_setting_changed(*, setting: str, **kwargs) -> None:
    if setting == "INSTALLED_APPS":
        reset()
