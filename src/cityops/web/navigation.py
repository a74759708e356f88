"""The navigation menu: each entry names the roles that see it, so nobody is offered a page they may not open.

Apps declare their entries as data (`Plugin.nav` in their `plugin.py`, see
`cityops.common.plugins`); the menu is read from that registry, never appended to."""

from __future__ import annotations

from django.utils.translation import gettext

from cityops.common import plugins
from cityops.common.plugins import NavItem

__all__ = ["NavItem", "nav_for", "nav_items"]


def nav_items() -> list[NavItem]:
    """Every declared entry, in menu order."""
    return sorted(plugins.nav_items(), key=lambda i: i.order)


def nav_for(user) -> list[dict]:
    items = []
    for item in nav_items():
        if item.visible_to(user):
            url = item.url()
            if url:
                # Labels are Chinese msgids: other languages come from the locale files.
                items.append({"label": gettext(item.label), "url": url, "description": gettext(item.description) if item.description else ""})
    return items
