"""Finding users and groups by role.

A role is identified by `RoleKey.code`, a key bound one-to-one to its Group that no admin
form edits; the group's name is only a label. Every query that asks "who holds role X"
goes through here, never through `groups__name`.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import QuerySet

ROLE_LOOKUP = "groups__role_key__code"


def role_lookup(prefix: str = "", *, many: bool = False) -> str:
    """The ORM lookup of a user's role code, e.g. `role_lookup("actor")` → `actor__groups__role_key__code`."""
    path = f"{prefix}__{ROLE_LOOKUP}" if prefix else ROLE_LOOKUP
    return f"{path}__in" if many else path


def with_role(queryset: QuerySet, *codes: str, prefix: str = "") -> QuerySet:
    """`queryset` narrowed to rows whose user (at `prefix`) holds one of `codes`."""
    return queryset.filter(**{role_lookup(prefix, many=True): codes}).distinct()


def users_with_role(*codes: str, active: bool = True) -> QuerySet:
    qs = get_user_model().objects.all()
    if active:
        qs = qs.filter(is_active=True)
    return with_role(qs, *codes)


def role_groups(codes) -> QuerySet:
    return Group.objects.filter(role_key__code__in=list(codes))


def role_group(code: str) -> Group | None:
    return Group.objects.filter(role_key__code=code).first()


def group_role_codes(group_pks) -> set[str]:
    return set(Group.objects.filter(pk__in=list(group_pks), role_key__isnull=False).values_list("role_key__code", flat=True))
