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


def can_view_reports(user) -> bool:
    """The analysis reports hold the district figures and the assessment's department and street
    scores, so they need both: the dashboard's roles that also read the assessment (leaders and
    dispatchers). Operators see the dashboard but not the scores; departments see neither."""
    from cityops.assessment.access import can_read_assessment

    return can_view_stats(user) and can_read_assessment(user)
