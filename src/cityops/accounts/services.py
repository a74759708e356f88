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


def _role_group(code: str) -> Group:
    """The group bound to `code`, binding or creating it the first time (fresh database)."""
    from cityops.accounts.models import RoleKey

    key = RoleKey.objects.select_related("group").filter(code=code).first()
    if key is not None:
        return key.group
    group = Group.objects.filter(name=code, role_key__isnull=True).first()
    if group is None:
        name, n = code, 1
        while Group.objects.filter(name=name).exists():  # the code is another group's label
            n += 1
            name = f"{code}-{n}"
        group = Group.objects.create(name=name)
    RoleKey.objects.create(code=code, group=group)
    return group


@transaction.atomic
def roles_sync() -> dict[str, int]:
    """Make each role's Group hold exactly the permissions of `roles.ROLE_PERMISSIONS`."""
    counts: dict[str, int] = {}
    for code in roles.ROLES:
        group = _role_group(code)
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


def _perm_names(permissions) -> set[str]:
    """"app.codename" for Permission objects, primary keys or names."""
    names, pks = set(), set()
    for perm in permissions:
        if isinstance(perm, str):
            names.add(perm)
        elif isinstance(perm, Permission):
            names.add(f"{perm.content_type.app_label}.{perm.codename}")
        else:
            pks.add(perm)
    if pks:
        names |= {f"{app}.{code}" for app, code in Permission.objects.filter(pk__in=pks)
                  .values_list("content_type__app_label", "codename")}
    return names


def _group_role(group) -> str | None:
    from cityops.accounts.selectors import group_role_codes

    if isinstance(group, str):  # a role code (callers outside the admin)
        return group if group in roles.ROLES else None
    if group is None or group.pk is None:
        return None
    codes = group_role_codes([group.pk])
    return next(iter(codes), None)


def check_group_permissions(group, permissions: Iterable) -> None:
    """三员分立 for role permissions: the three administrator roles hold exactly what
    `roles.ROLE_PERMISSIONS` gives them, and nothing of theirs is added to another group,
    so nobody (the security administrator included) can widen a role into a second admin role.

    `group` is the Group (its role is read from its role key, never from its name) or a role
    code; `permissions` are names, Permission objects or their primary keys."""
    wanted = _perm_names(permissions)
    code = _group_role(group)
    if code in roles.ADMIN_ROLES:
        extra = wanted - set(roles.ROLE_PERMISSIONS.get(code, []))
        label = roles.role_label(code)
    else:
        extra = wanted & admin_exclusive_permissions()
        label = roles.role_label(code) if code else (getattr(group, "name", "") or "新建组")
    if extra:
        raise ValidationError(
            f"三员分立：不能给角色“{label}”增加权限 {', '.join(sorted(extra))}。",
            code="separation_of_duties",
        )
    if not isinstance(group, str) and group is not None and group.pk is not None:
        check_group_members(group, wanted)


def admin_permission_excess(role_codes: Iterable[str], permissions: Iterable[str]) -> set[str]:
    """What an account holding these roles and permissions has beyond its administrator role.

    An administrator (三员) holds exactly the permissions of its role, through whatever groups
    or direct grants: never a business permission (cases, personal data) nor another role's."""
    held = roles.ADMIN_ROLES.intersection(role_codes)
    if not held:
        return set()
    allowed = {perm for code in held for perm in roles.ROLE_PERMISSIONS.get(code, [])}
    return set(permissions) - allowed


def _refuse_excess(user, codes: set[str], extra: set[str]) -> None:
    if extra:
        labels = "、".join(roles.role_label(c) for c in sorted(roles.ADMIN_ROLES & codes))
        raise ValidationError(
            f"三员分立：{labels}账号“{user.get_username()}”不能通过其他组或直接授权获得权限 {', '.join(sorted(extra))}。",
            code="separation_of_duties",
        )


def check_user_authorisations(user: User, *, group_pks: Iterable[int] | None = None,
                              add_group_pks: Iterable[int] = (), add_permissions: Iterable = ()) -> None:
    """三员分立 over the union of an account's groups and direct permissions: two administrator
    roles never meet, and an administrator holds nothing beyond its role. `group_pks` replaces
    the account's current groups (a form about to save), `add_*` are grants about to be made."""
    from cityops.accounts.selectors import group_role_codes

    if user is None or user.is_superuser:
        return
    pks = set(group_pks) if group_pks is not None else (
        set(user.groups.values_list("pk", flat=True)) if user.pk else set())
    pks |= set(add_group_pks)
    codes = group_role_codes(pks)
    check_separation_of_duties(codes)
    if not roles.ADMIN_ROLES & codes:
        return
    perms = _perm_names(Permission.objects.filter(group__pk__in=pks).select_related("content_type").distinct())
    if user.pk:
        perms |= _perm_names(user.user_permissions.select_related("content_type"))
    perms |= _perm_names(add_permissions)
    _refuse_excess(user, codes, admin_permission_excess(codes, perms))


def check_group_members(group: Group, adding: Iterable[str]) -> None:
    """Permissions about to be added to `group`: refused when a member holding an administrator
    role would thereby hold more than its role."""
    adding = set(adding)
    if not adding:
        return
    from cityops.accounts.selectors import ROLE_LOOKUP

    # Not group.user_set.filter(groups__…): the related manager's join is sticky and would ask
    # the same group to be both this one and an admin role group.
    members = User.objects.filter(pk__in=group.user_set.values("pk"), is_superuser=False).filter(
        **{f"{ROLE_LOOKUP}__in": roles.ADMIN_ROLES}).distinct()
    for user in members:
        check_user_authorisations(user, add_permissions=adding)


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
    from cityops.accounts.selectors import role_groups

    user.groups.set(role_groups(codes))
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
    details: dict[str, str | None] = {"change": "password", "reason": reason}
    if user.must_change_password and user.password_reset_by:
        # The first change after an administrator's reset: whoever signs in with the reset
        # password and replaces it shows up next to the resetter (and the address) here.
        details["after_reset_by"] = user.password_reset_by
        details["reset_at"] = user.password_reset_at.isoformat() if user.password_reset_at else None
    user.set_password(new_password)
    user._initial_password = False
    user.save()
    audit_record(
        action=AuditAction.ACCOUNT_CHANGE, actor=user, target=f"user:{user.get_username()}", request=request,
        details=details,
    )


def reset_password_hours() -> float:
    from django.conf import settings

    return float(settings.CITYOPS_RESET_PASSWORD_HOURS)


@transaction.atomic
def password_reset_by_admin(*, user: User, actor, request=None) -> str:
    """An administrator resets `user`'s password; returns the new initial password (show it once).

    Nobody chooses it (a random one, so it is no password the administrator already knows);
    it must be changed at the first sign-in and stops working after CITYOPS_RESET_PASSWORD_HOURS;
    the account's current session ends; the account's authenticator is kept, so the second
    factor still needs the owner's phone. The reset is audited with the administrator as actor,
    and the owner's change that follows names the resetter (`after_reset_by`)."""
    from importlib import import_module

    from django.conf import settings
    from django.utils import timezone
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from cityops.audit.models import AuditAction
    from cityops.audit.services import audit_record

    if user.is_service_account:
        raise PermissionDenied("服务账号没有密码，不能重置；请在 API 密钥管理中吊销或重新签发密钥。")
    password = generate_password()
    user.set_password(password)
    user.save()  # an initial password (must_change_password) by User.save
    User.objects.filter(pk=user.pk).update(
        password_reset_by=actor.get_username() if actor is not None else "", password_reset_at=timezone.now(),
    )
    user.refresh_from_db(fields=["password_reset_by", "password_reset_at", "must_change_password"])
    if user.current_session_key:
        import_module(settings.SESSION_ENGINE).SessionStore(session_key=user.current_session_key).delete()
    audit_record(
        action=AuditAction.ACCOUNT_CHANGE, actor=actor, target=f"user:{user.get_username()}", request=request,
        details={"change": "password_reset", "valid_hours": reset_password_hours(),
                 "second_factor_kept": TOTPDevice.objects.filter(user=user, confirmed=True).exists()},
    )
    return password
