"""Where a user lands after signing in on a phone: the phone pages of their role.

A phone is recognised by its browser's user agent (every phone browser says "Mobile",
"Android", "iPhone" or "HarmonyOS"; tablets are left on the desktop pages). Choosing the
desktop pages (`/?desktop=1`) is remembered for the session; `/?desktop=0` forgets it."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from cityops.accounts import roles

PHONE_MARKERS = ("mobile", "android", "iphone", "ipod", "harmonyos", "windows phone")
TABLET_MARKERS = ("ipad", "tablet")
DESKTOP_CHOICE = "prefer_desktop"


def is_phone(request: HttpRequest) -> bool:
    agent = request.headers.get("User-Agent", "").lower()
    return any(m in agent for m in PHONE_MARKERS) and not any(m in agent for m in TABLET_MARKERS)


def phone_home_url(user) -> str | None:
    """The phone page of the user's role, if the role has one."""
    if user.has_role(roles.INSPECTOR):
        return reverse("intake:inspector_home")
    if user.has_role(roles.DEPARTMENT) and user.department_id:
        return reverse("intake:dept_desk")
    return None


def phone_landing(request: HttpRequest) -> str | None:
    """The URL to send this request to instead of the desktop home, or None to stay."""
    choice = request.GET.get("desktop")
    if choice in ("0", "1"):
        request.session[DESKTOP_CHOICE] = choice == "1"
    if request.session.get(DESKTOP_CHOICE) or not is_phone(request):
        return None
    return phone_home_url(request.user)
