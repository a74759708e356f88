"""Reads of the department's phone desk (`desks.intake_pages.department`)."""

from __future__ import annotations

from django.db.models import F, QuerySet

from cityops.accounts import roles
from cityops.cases.models import Case
from cityops.cases.permissions import cases_visible_to
from cityops.cases.states import Status


def is_department_user(user) -> bool:
    return bool(user.is_authenticated and user.is_active and user.department_id and user.has_role(roles.DEPARTMENT))


def department_tasks(user, statuses=(Status.DISPATCHED, Status.IN_PROGRESS)) -> QuerySet[Case]:
    """The department's cases waiting to be signed for or being handled, most urgent first.

    Scoped like the desk (`cases_visible_to`) and narrowed to the cases now with the user's
    department: a case returned or moved on leaves the list."""
    return (
        cases_visible_to(user).filter(department_id=user.department_id, status__in=list(statuses))
        .select_related("category", "department", "street", "community", "grid")
        .order_by(F("deadline").asc(nulls_last=True), "id")
    )
