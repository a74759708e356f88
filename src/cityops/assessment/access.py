"""Who may read the assessment: leaders and dispatchers (值班长), and superusers."""

from __future__ import annotations

from cityops.accounts import roles

READER_ROLES = (roles.LEADER, roles.DISPATCHER)


def can_read_assessment(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and (user.is_superuser or user.has_role(*READER_ROLES)))
