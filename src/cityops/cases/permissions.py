"""Who may see which cases and do what to them (one policy used by pages, API and services).

Scope is applied in the query, never after it: a department's queryset simply does not
contain another department's cases, so a lookup outside scope is a 404, not a 403.
"""

from __future__ import annotations

from django.db.models import Q

from cityops.accounts import roles
from cityops.cases.models import Case
from cityops.cases.querysets import CaseQuerySet
from cityops.cases.states import TRANSITIONS, Action, Transition, guard_refusal


def can_view_all(user) -> bool:
    return user.is_superuser or user.has_perm("cases.view_all_cases")


def can_see_personal_data(user) -> bool:
    """The one decision "may this user see personal data" (查看反映人完整联系方式): reporters'
    names and phones on request (`privacy.reporter_reveal`), personal data typed into free text
    in clear (`presenters.shown_text`), clear exports on request (`intake.exports`). Everyone
    else sees them masked."""
    return bool(user and user.is_authenticated and (user.is_superuser or user.has_perm("cases.view_personal_data")))


def cases_visible_to(user, base: CaseQuerySet | None = None) -> CaseQuerySet:
    qs = Case.objects.all() if base is None else base
    if not user or not user.is_authenticated or not user.is_active:
        return qs.none()
    if can_view_all(user):
        return qs
    scope = Q(pk__in=[])
    if user.has_role(roles.DEPARTMENT) and user.department_id:
        # Only cases that are the department's now: once returned and re-dispatched, a case
        # belongs to the next department and leaves the first one's sight.
        scope |= Q(department_id=user.department_id)
    if user.has_role(roles.INSPECTOR):
        scope |= Q(grid__in=user.grids.all()) | Q(created_by=user)
    if user.has_role(roles.SYSTEM):
        scope |= Q(created_by=user)
    return qs.filter(scope)


def in_scope_for_action(user, case: Case, transition: Transition) -> bool:
    if user.is_superuser:
        return True
    if transition.needs_own_department:
        return bool(user.department_id) and user.department_id == case.department_id
    if transition.action == Action.VERIFY and user.has_role(roles.INSPECTOR) and not user.has_role(roles.DISPATCHER):
        return case.grid_id is not None and user.grids.filter(pk=case.grid_id).exists()
    return True


def role_allows(user, transition: Transition) -> bool:
    return user.is_superuser or user.has_role(*transition.roles)


def available_actions(user, case: Case) -> list[Action]:
    """Actions this user may take on this case now; the UI offers exactly these."""
    if not user or not user.is_authenticated:
        return []
    actions = []
    for action, transition in TRANSITIONS.items():
        if case.status not in transition.sources:
            continue
        if not role_allows(user, transition) or not in_scope_for_action(user, case, transition):
            continue
        if action == Action.REQUEST_EXTENSION and case.extension_pending:
            continue
        if action in (Action.APPROVE_EXTENSION, Action.DENY_EXTENSION) and not case.extension_pending:
            continue
        if guard_refusal(case, action):
            continue
        actions.append(action)
    return actions
