"""Writes on users and roles."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import transaction

from cityops.accounts import roles
from cityops.accounts.models import User


class UnknownPermissionError(LookupError):
    pass


def _resolve_permissions(names: Iterable[str]) -> list[Permission]:
    wanted = set(names)
    found: list[Permission] = []
    for perm in Permission.objects.select_related("content_type"):
        key = f"{perm.content_type.app_label}.{perm.codename}"
        if key in wanted:
            found.append(perm)
            wanted.discard(key)
    if wanted:
        raise UnknownPermissionError(f"角色权限表引用了不存在的权限: {', '.join(sorted(wanted))}")
    return found


@transaction.atomic
def roles_sync() -> dict[str, int]:
    """Make each role's Group hold exactly the permissions of `roles.ROLE_PERMISSIONS`."""
    counts: dict[str, int] = {}
    for code in roles.ROLES:
        group, _ = Group.objects.get_or_create(name=code)
        perms = _resolve_permissions(roles.ROLE_PERMISSIONS.get(code, []))
        group.permissions.set(perms)
        counts[code] = len(perms)
    return counts


def check_separation_of_duties(role_codes: Iterable[str]) -> None:
    """三员分立: refuse any combination of two administrator roles on one account."""
    held = roles.ADMIN_ROLES.intersection(role_codes)
    if len(held) > 1:
        labels = "、".join(roles.role_label(code) for code in sorted(held))
        raise ValidationError(f"三员分立：同一账号不能同时担任{labels}。", code="separation_of_duties")


@transaction.atomic
def user_set_roles(*, user: User, role_codes: Iterable[str]) -> None:
    codes = set(role_codes)
    unknown = codes - set(roles.ROLES)
    if unknown:
        raise ValidationError(f"未知角色: {', '.join(sorted(unknown))}", code="unknown_role")
    check_separation_of_duties(codes)
    user.groups.set(Group.objects.filter(name__in=codes))
    user.is_staff = any(roles.ROLES[c].staff for c in codes)
    user.save(update_fields=["is_staff"])
    if hasattr(user, "_role_codes"):
        del user._role_codes


def generate_password() -> str:
    """A random password that passes the validators (mixed classes, 16 characters)."""
    return "Cy-" + secrets.token_urlsafe(12)
