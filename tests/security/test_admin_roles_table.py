"""docs/security.md lists the rights of the three administrator roles (三员分立) as a table; this
test reads that table and checks every cell against the code: the permissions `accounts/roles.py`
gives each role and what the admin and the services allow an account of that role."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib import admin
from django.db import transaction
from django.test import RequestFactory

from cityops.accounts import roles
from cityops.accounts.models import User
from cityops.accounts.services import may_assign_roles
from cityops.accounts.tests.factories import UserFactory
from cityops.api import keys
from cityops.api.models import ApiKey, WebhookSubscription

pytestmark = pytest.mark.django_db

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
HEADING = "### 三员分立: rights of the three administrator roles"
COLUMNS = [roles.SYSADMIN, roles.SECADMIN, roles.AUDITOR]


def read_table() -> dict[str, dict[str, bool]]:
    text = DOC.read_text(encoding="utf-8")
    assert HEADING in text, f"{DOC} lost the heading {HEADING!r}"
    rows: dict[str, dict[str, bool]] = {}
    lines = text.split(HEADING, 1)[1].splitlines()
    table = [line for line in lines[: next((i for i, text in enumerate(lines) if text.startswith("## ")), len(lines))]
             if line.startswith("|")]
    header = [c.strip() for c in table[0].strip("|").split("|")]
    assert header[1:] == COLUMNS, header
    for line in table[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert all(c in ("是", "否") for c in cells[1:]), line
        rows[cells[0]] = {code: cell == "是" for code, cell in zip(COLUMNS, cells[1:], strict=True)}
    return rows


def _request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def _admin(model):
    return admin.site._registry[model]


def _key_with_business_role(user) -> bool:
    try:
        with transaction.atomic():
            keys.apikey_issue(name=f"表格-{user.pk}", role=roles.OPERATOR, actor=user)
            transaction.set_rollback(True)
    except keys.KeyIssueError:
        return False
    return True


def _user_admin_edits(user, target) -> bool:
    return _admin(User)._may_edit_account(_request(user), target) and not target.is_service_account


CHECKS: dict[str, Callable[[User, dict], bool]] = {
    "manage accounts (create, edit, deactivate people's accounts)":
        lambda u, w: u.has_perm("accounts.add_user") and _user_admin_edits(u, w["operator"]),
    "assign roles": lambda u, w: may_assign_roles(u, w["operator"]),
    "edit groups' permissions": lambda u, w: u.has_perm("auth.change_group"),
    "issue API keys (service account of role system)":
        lambda u, w: u.has_perm("api.add_apikey") and _admin(ApiKey).has_add_permission(_request(u)),
    "issue an API key with a business role directly": lambda u, w: _key_with_business_role(u),
    "give a service account a business role": lambda u, w: may_assign_roles(u, w["service"]),
    "create webhook subscriptions":
        lambda u, w: u.has_perm("api.add_webhooksubscription")
        and _admin(WebhookSubscription).has_add_permission(_request(u)),
    "reset a business user's password": lambda u, w: _user_admin_edits(u, w["operator"]),
    "reset another administrator's password":
        lambda u, w: any(_user_admin_edits(u, w[c]) for c in roles.ADMIN_ROLES if not u.has_role(c)),
    "reset a lost authenticator (TOTP device)": lambda u, w: u.has_perm("otp_totp.delete_totpdevice"),
    "maintain reference data (categories, departments, grids)":
        lambda u, w: all(u.has_perm(p) for p in ("catalog.change_category", "catalog.change_department", "geo.change_unitgrid")),
    "read the audit trail": lambda u, w: u.has_role(roles.AUDITOR) and u.has_perm("audit.view_auditentry"),
    "read the API call log": lambda u, w: u.has_perm("api.view_apicalllog"),
    "read case data": lambda u, w: any(u.has_perm(p) for p in ("cases.view_case", "cases.view_all_cases")),
    "read reporters' full contact details": lambda u, w: u.has_perm("cases.view_personal_data"),
}


@pytest.fixture
def world(db):
    people = {code: UserFactory(role=code) for code in (*COLUMNS, roles.OPERATOR)}
    people["service"] = keys.service_account_create(name="表格服务账号", role=roles.SYSTEM)
    return people


def test_the_table_and_the_checks_name_the_same_capabilities():
    assert set(read_table()) == set(CHECKS)


def test_every_cell_of_the_admin_roles_table_matches_the_code(world):
    table = read_table()
    wrong = []
    for capability, cells in table.items():
        for code, documented in cells.items():
            user = User.objects.get(pk=world[code].pk)  # fresh permission caches
            actual = bool(CHECKS[capability](user, world))
            if actual != documented:
                wrong.append(f"{capability} / {code}: docs say {'是' if documented else '否'}, code says {'是' if actual else '否'}")
    assert not wrong, "docs/security.md 三员分立 table differs from the code:\n" + "\n".join(wrong)


def test_no_admin_role_holds_a_case_permission_in_the_role_table():
    case_data = {"cases.view_case", "cases.view_all_cases", "cases.view_personal_data", "cases.add_case",
                 "cases.change_case", "cases.view_attachment"}
    for code in roles.ADMIN_ROLES:
        assert not case_data & set(roles.ROLE_PERMISSIONS[code]), code
