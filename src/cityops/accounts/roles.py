"""Roles of the center and the permissions each one holds.

This module is the one place where roles are defined (`ROLES`). A role is a Django Group
named by its code. `ROLE_PERMISSIONS` is the single source of truth for what each role
holds: `accounts.services.roles_sync()` (command `cityops roles_sync`, also run by `demo`)
makes the groups match it exactly, so a permission removed from it is revoked on the next
deploy. Scope (which department or grids) lives on the user.

How apps extend it: an app never edits this table. It declares the permissions it adds to
existing roles as data, `Plugin(permissions={roles.OPERATOR: ["cases.add_case", …]})` in its
`plugin.py` (see `cityops.common.plugins`); `ROLE_PERMISSIONS[role]` is this module's base list
(`BASE_PERMISSIONS`) followed by every installed app's declared lines, read from the registry.
A new role is added here, in `ROLES`, never by an app.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from cityops.common import plugins


@dataclass(frozen=True)
class Role:
    code: str
    label: str
    staff: bool = False  # may open the Django admin
    description: str = ""


OPERATOR = "operator"
DISPATCHER = "dispatcher"
DEPARTMENT = "department"
INSPECTOR = "inspector"
LEADER = "leader"
SYSADMIN = "sysadmin"
SECADMIN = "secadmin"
AUDITOR = "auditor"
SYSTEM = "system"  # service accounts of other systems (API keys)

ROLES: dict[str, Role] = {
    r.code: r
    for r in [
        Role(OPERATOR, "受理员", description="受理来电来件，立案、不予立案、直接答复、合并重复件，回访"),
        Role(DISPATCHER, "派遣员/值班长", description="派遣案件，审批延期和挂账，核查结案，督办催办"),
        Role(DEPARTMENT, "部门处置人员", description="签收、处置、反馈、申请延期、退单（仅本部门案件）"),
        Role(INSPECTOR, "网格员/监督员", description="巡查上报，现场核查（仅负责网格）"),
        Role(LEADER, "指挥长/领导", description="查看全部案件与统计，督办、催办"),
        Role(SYSADMIN, "系统管理员", staff=True, description="管理用户账号与基础数据配置，不能查看审计日志、不能分配权限"),
        Role(SECADMIN, "安全管理员", staff=True, description="管理角色与权限策略，不能管理基础数据与审计日志"),
        Role(AUDITOR, "审计管理员", staff=True, description="只读查看审计日志"),
        Role(SYSTEM, "外部系统", description="通过 API 密钥接入的外部系统"),
    ]
}

# 三员分立: no account may hold two of these.
ADMIN_ROLES = frozenset({SYSADMIN, SECADMIN, AUDITOR})

_REFERENCE_MODELS = [
    "geo.region", "geo.unitgrid",
    "catalog.category", "catalog.timelimit", "catalog.department",
    "catalog.responsibilityrule", "catalog.calendaroverride",
]


def _crud(model: str) -> list[str]:
    app, name = model.split(".")
    return [f"{app}.{verb}_{name}" for verb in ("add", "change", "delete", "view")]


def _view(model: str) -> str:
    app, name = model.split(".")
    return f"{app}.view_{name}"


BASE_PERMISSIONS: dict[str, list[str]] = {
    OPERATOR: [],
    DISPATCHER: [],
    DEPARTMENT: [],
    INSPECTOR: [],
    LEADER: [],
    SYSADMIN: [
        *(perm for model in _REFERENCE_MODELS for perm in _crud(model)),
        "accounts.add_user", "accounts.change_user", "accounts.view_user",
    ],
    SECADMIN: [
        "auth.view_group", "auth.change_group", "auth.view_permission",
        "accounts.view_user",
        # Resetting a lost phone's TOTP device; its secret stays hidden (OTP_ADMIN_HIDE_SENSITIVE_DATA).
        "otp_totp.view_totpdevice", "otp_totp.delete_totpdevice",
    ],
    AUDITOR: [
        "admin.view_logentry",
    ],
    SYSTEM: [],
}

# Permissions every role that works on cases needs; the cases app declares the case ones.
for _role in (OPERATOR, DISPATCHER, DEPARTMENT, INSPECTOR, LEADER):
    BASE_PERMISSIONS[_role] += [_view(m) for m in ("catalog.category", "catalog.department")]


class _RolePermissions(Mapping[str, list[str]]):
    """Role code → its permissions: `BASE_PERMISSIONS` plus the lines the apps declare
    (`Plugin.permissions`), without repeats; read-only, computed from the registry on use."""

    def __getitem__(self, code: str) -> list[str]:
        if code not in ROLES:
            raise KeyError(code)
        granted = list(BASE_PERMISSIONS.get(code, []))
        granted += [perm for perm in plugins.role_permissions().get(code, []) if perm not in granted]
        return granted

    def __iter__(self) -> Iterator[str]:
        return iter(ROLES)

    def __len__(self) -> int:
        return len(ROLES)


ROLE_PERMISSIONS: Mapping[str, list[str]] = _RolePermissions()


def undefined_roles() -> list[str]:
    """Role codes the apps grant permissions to that are not defined in `ROLES` (should be none)."""
    return sorted(set(plugins.role_permissions()) - set(ROLES))


def role_label(code: str) -> str:
    from django.utils.translation import gettext

    return gettext(ROLES[code].label) if code in ROLES else code
