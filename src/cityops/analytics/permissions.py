"""Who may see the district-wide figures: the center's own roles (leader, dispatcher, operator),
who already see every case. Departments and inspectors see only their part of the cases, so
district statistics are not for them."""

from __future__ import annotations

from cityops.accounts import roles
from cityops.cases.permissions import can_view_all

STATS_ROLES = (roles.LEADER, roles.DISPATCHER, roles.OPERATOR)


def can_view_stats(user) -> bool:
    if not user or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return user.has_role(*STATS_ROLES) and can_view_all(user)
