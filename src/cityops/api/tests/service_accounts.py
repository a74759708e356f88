"""Service accounts for webhook tests: role `system` (plus the roles that decide what it may
see), no usable password — what `keys.service_account_create` makes."""

from __future__ import annotations

from cityops.accounts.services import user_set_roles
from cityops.api.keys import service_account_create


def service_account(*extra_roles: str, name: str = "指挥大屏系统", department=None):
    user = service_account_create(name=name, role="system")
    if department is not None:
        user.department = department
        user.save(update_fields=["department"])
    if extra_roles:
        user_set_roles(user=user, role_codes=["system", *extra_roles])
    return user
