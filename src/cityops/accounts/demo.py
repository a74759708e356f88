"""Demo accounts: one per role plus one per department. Passwords exist only here, in the demo data.

The shared demo password is recorded in every demo account's password history, so an account
can never be "changed" back to it. On a stack others can reach (`make run-prod`,
`cityops demo --admin-initial-passwords`) the three administrator accounts do not share it:
each gets its own initial password — CITYOPS_INITIAL_PASSWORD_<USERNAME> or a random one,
printed once — which must be changed at the first login.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import timezone

from cityops.accounts import roles
from cityops.accounts.models import PasswordHistory, User
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


class _SharedPassword:
    """Whether a hash is the demo password's; one (slow) check per distinct hash, and the demo
    accounts mostly share one."""

    def __init__(self, password: str) -> None:
        self.password = password
        self._known: dict[str, bool] = {}

    def matches(self, encoded: str) -> bool:
        if not encoded:
            return False
        if encoded not in self._known:
            self._known[encoded] = check_password(self.password, encoded)
        return self._known[encoded]


@transaction.atomic
def demo_accounts_ensure(password: str, *, admin_initial_passwords: bool = False) -> list[tuple[str, str, str]]:
    """Create or refresh the demo accounts; returns (username, name, role label) rows.

    With `admin_initial_passwords`, an administrator account that already has a password of its
    own keeps it (see `admin_initial_passwords_ensure` for the ones that do not)."""
    from cityops.catalog.models import Department
    from cityops.geo.models import UnitGrid

    accounts = list(CENTER_ACCOUNTS)
    for dept in Department.objects.filter(active=True).exclude(code="CENTER").order_by("kind", "code"):
        accounts.append(DemoAccount(f"dept-{dept.code}", f"{dept.short_name or dept.name} 处置人员", roles.DEPARTMENT, dept.code))

    departments = {d.code: d for d in Department.objects.all()}
    # One hash for every demo account: password hashing is slow by design, and these share one password anyway.
    hashed = make_password(password)
    shared = _SharedPassword(password)
    rows = []
    for account in accounts:
        user, created = User.objects.get_or_create(username=account.username)
        user.display_name = account.display_name
        user.department = departments.get(account.department_code) if account.department_code else None
        user.is_active = True
        own_password = (admin_initial_passwords and account.role in roles.ADMIN_ROLES and not created
                        and user.has_usable_password() and not shared.matches(user.password))
        if not own_password:
            if not (shared.matches(user.password) and PasswordHistory.objects.filter(user=user, password=user.password).exists()):
                user.password = hashed
            # Demo passwords are shared on purpose: no forced change, and the expiry clock restarts.
            user.must_change_password = False
            user.password_changed_at = timezone.now()
        user.save()
        if not own_password and not PasswordHistory.objects.filter(user=user, password=user.password).exists():
            # In the history, so that no demo account can "change" back to the shared password.
            PasswordHistory.record(user)
        user_set_roles(user=user, role_codes=[account.role])
        rows.append((account.username, account.display_name, roles.role_label(account.role)))

    inspector = User.objects.get(username="inspector")
    if not inspector.grids.exists():
        # The demo inspector patrols the first street's grids.
        first_grids = UnitGrid.objects.order_by("code")[:60]
        inspector.grids.set(first_grids)
    return rows


def initial_password_variable(username: str) -> str:
    return "CITYOPS_INITIAL_PASSWORD_" + "".join(c if c.isalnum() else "_" for c in username.upper())


@transaction.atomic
def admin_initial_passwords_ensure(shared_password: str) -> list[tuple[str, str | None]]:
    """Give every seeded administrator account still on the shared demo password (or on none)
    its own initial password, to be changed at the first login (must_change_password).

    The password is CITYOPS_INITIAL_PASSWORD_<USERNAME> when set (checked against the password
    policy, the demo password's history included), else a random one. Returns
    (username, password) rows, the password None when it came from the environment: a random
    password is known only from this return value, so the caller prints it once. An account
    whose password is already its own is left alone."""
    shared = _SharedPassword(shared_password)
    issued = []
    for account in CENTER_ACCOUNTS:
        if account.role not in roles.ADMIN_ROLES:
            continue
        user = User.objects.filter(username=account.username).first()
        if user is None or (user.has_usable_password() and not shared.matches(user.password)):
            continue
        from_env = os.environ.get(initial_password_variable(account.username))
        password = from_env or generate_password()
        validate_password(password, user)
        user.set_password(password)  # set by someone else than its owner: an initial password
        user.save()
        issued.append((account.username, None if from_env else password))
    return issued


def demo_enrolment_codes_ensure() -> list[tuple[str, str, datetime]]:
    """On a stack that requires the second factor (`make run-prod`), the demo accounts that must
    bind one get their first one-time enrolment code here, as the command line would issue it
    (`cityops otp_enrolment_code`): nobody could issue the first security administrator's code
    on the web. Accounts with an authenticator or an outstanding code are left alone, so a
    restart voids nothing. Returns (username, code, expiry) rows to be shown once."""
    from django_otp.plugins.otp_static.models import StaticDevice

    from cityops.accounts.otp import ENROLMENT_DEVICE_NAME, enrolment_code_issue, enrolment_code_needed
    from cityops.accounts.policy import otp_required

    issued: list[tuple[str, str, datetime]] = []
    for account in CENTER_ACCOUNTS:
        user = User.objects.filter(username=account.username, is_active=True).first()
        # Only the roles that must bind a factor (enrolment_code_needed is False once one is bound).
        if user is None or not otp_required(user) or not enrolment_code_needed(user):
            continue
        if StaticDevice.objects.filter(user=user, name=ENROLMENT_DEVICE_NAME).exists():
            continue
        code, expires_at = enrolment_code_issue(user=user, issued_by=None)
        issued.append((account.username, code, expires_at))
    return issued
