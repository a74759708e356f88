"""The navigation menu: each entry names the roles that see it, so nobody is offered a page they may not open.

Apps add their entries by appending to `NAV_ITEMS` from their AppConfig.ready()."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: frozenset[str] = field(default_factory=frozenset)  # empty: every signed-in user
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


NAV_ITEMS: list[NavItem] = [
    NavItem("首页", "web:home", order=0),
    NavItem("管理后台", "admin:index", frozenset({"sysadmin", "secadmin", "auditor"}), order=900,
            description="基础数据、用户与权限、审计日志"),
]


def nav_for(user) -> list[dict]:
    items = []
    for item in sorted(NAV_ITEMS, key=lambda i: i.order):
        if item.visible_to(user):
            url = item.url()
            if url:
                # Labels are Chinese msgids: other languages come from the locale files.
                items.append({"label": gettext(item.label), "url": url, "description": gettext(item.description) if item.description else ""})
    return items
