"""Writes on users and roles."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
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


ROLE_MANAGER_PERMISSION = "auth.change_group"  # held by the security administrator only


def may_assign_roles(actor, user: User | None = None) -> bool:
    """三员分立: roles are given by the security administrator, never by anyone to themselves."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return False
    if user is not None and user.pk is not None and user.pk == actor.pk:
        return False
    return actor.is_superuser or actor.has_perm(ROLE_MANAGER_PERMISSION)


def admin_exclusive_permissions() -> set[str]:
    """Permissions that only an administrator role holds (audit reading, role management,
    reference-data editing …): no working role may be widened with them."""
    admin = {perm for code in roles.ADMIN_ROLES for perm in roles.ROLE_PERMISSIONS.get(code, [])}
    working = {perm for code, perms in roles.ROLE_PERMISSIONS.items() if code not in roles.ADMIN_ROLES for perm in perms}
    return admin - working


def check_group_permissions(group_name: str, permissions: Iterable[str]) -> None:
    """三员分立 for role permissions: the three administrator roles hold exactly what
    `roles.ROLE_PERMISSIONS` gives them, and nothing of theirs is added to another group,
    so nobody (the security administrator included) can widen a role into a second admin role."""
    wanted = set(permissions)
    if group_name in roles.ADMIN_ROLES:
        extra = wanted - set(roles.ROLE_PERMISSIONS.get(group_name, []))
    else:
        extra = wanted & admin_exclusive_permissions()
    if extra:
        raise ValidationError(
            f"三员分立：不能给角色“{roles.role_label(group_name)}”增加权限 {', '.join(sorted(extra))}。",
            code="separation_of_duties",
        )


@transaction.atomic
def user_set_roles(*, user: User, role_codes: Iterable[str], actor=None) -> None:
    """Give `user` exactly these roles. `actor` is the person doing it (None for system code
    such as demo data and service accounts); a person must be allowed to assign roles."""
    codes = set(role_codes)
    if actor is not None and not may_assign_roles(actor, user):
        raise PermissionDenied("三员分立：只有安全管理员可以分配角色，且不能修改自己的角色。")
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


def password_change_by_owner(*, user: User, new_password: str, request=None) -> None:
    """The owner replaces the password (validated by the caller's form): this clears the
    initial-password flag and restarts the expiry clock; the hash joins the history."""
    from cityops.audit.models import AuditAction
    from cityops.audit.services import audit_record

    reason = "initial" if user.must_change_password else "self"
    user.set_password(new_password)
    user._initial_password = False
    user.save()
    audit_record(
        action=AuditAction.ACCOUNT_CHANGE, actor=user, target=f"user:{user.get_username()}", request=request,
        details={"change": "password", "reason": reason},
    )
