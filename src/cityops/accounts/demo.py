"""Demo accounts: one per role plus one per department. Passwords exist only here, in the demo data."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from cityops.accounts import roles
from cityops.accounts.models import User
from cityops.accounts.services import generate_password, user_set_roles


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    role: str
    department_code: str | None = None


CENTER_ACCOUNTS = [
    DemoAccount("operator", "受理员 王芳", roles.OPERATOR, "CENTER"),
    DemoAccount("dispatcher", "派遣员 李强", roles.DISPATCHER, "CENTER"),
    DemoAccount("inspector", "网格员 马海军", roles.INSPECTOR, "CENTER"),
    DemoAccount("leader", "指挥长 张建国", roles.LEADER, "CENTER"),
    DemoAccount("sysadmin", "系统管理员", roles.SYSADMIN),
    DemoAccount("secadmin", "安全管理员", roles.SECADMIN),
    DemoAccount("auditor", "审计管理员", roles.AUDITOR),
]


def demo_password() -> tuple[str, bool]:
    """The demo password: CITYOPS_DEMO_PASSWORD, or a random one kept under var/ so reruns agree.

    Returns the password and whether it was generated here."""
    from_env = os.environ.get("CITYOPS_DEMO_PASSWORD")
    if from_env:
        return from_env, False
    path = Path(settings.VAR_DIR) / "demo_password"
    if path.exists():
        return path.read_text().strip(), True
    password = generate_password()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(password)
    path.chmod(0o600)
    return password, True


@transaction.atomic
def demo_accounts_ensure(password: str) -> list[tuple[str, str, str]]:
    """Create or refresh the demo accounts; returns (username, name, role label) rows."""
    from cityops.catalog.models import Department
    from cityops.geo.models import UnitGrid

    accounts = list(CENTER_ACCOUNTS)
    for dept in Department.objects.filter(active=True).exclude(code="CENTER").order_by("kind", "code"):
        accounts.append(DemoAccount(f"dept-{dept.code}", f"{dept.short_name or dept.name} 处置人员", roles.DEPARTMENT, dept.code))

    departments = {d.code: d for d in Department.objects.all()}
    # One hash for every demo account: password hashing is slow by design, and these share one password anyway.
    hashed = make_password(password)
    rows = []
    for account in accounts:
        user, _ = User.objects.get_or_create(username=account.username)
        user.display_name = account.display_name
        user.department = departments.get(account.department_code) if account.department_code else None
        user.is_active = True
        user.password = hashed
        # Demo passwords are shared on purpose: no forced change, and the expiry clock restarts.
        user.must_change_password = False
        user.password_changed_at = timezone.now()
        user.save()
        user_set_roles(user=user, role_codes=[account.role])
        rows.append((account.username, account.display_name, roles.role_label(account.role)))

    inspector = User.objects.get(username="inspector")
    if not inspector.grids.exists():
        # The demo inspector patrols the first street's grids.
        first_grids = UnitGrid.objects.order_by("code")[:60]
        inspector.grids.set(first_grids)
    return rows
