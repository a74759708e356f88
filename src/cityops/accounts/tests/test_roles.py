"""Each role holds exactly its permissions; 三员分立 is enforced however groups are assigned."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction

from cityops.accounts import roles
from cityops.accounts.services import roles_sync, user_set_roles
from cityops.accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def perms_of(role: str) -> set[str]:
    group = Group.objects.get(name=role)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_sync_gives_every_role_exactly_its_table_entry():
    roles_sync()
    for code in roles.ROLES:
        assert perms_of(code) == set(roles.ROLE_PERMISSIONS[code])


def test_sync_revokes_a_permission_added_by_hand():
    roles_sync()
    from django.contrib.auth.models import Permission

    # (An administrator's permission such as catalog.delete_category is refused outright: test_coverage.)
    Group.objects.get(name=roles.OPERATOR).permissions.add(Permission.objects.get(codename="delete_notification"))
    roles_sync()
    assert "cases.delete_notification" not in perms_of(roles.OPERATOR)


@pytest.mark.parametrize(
    ("role", "granted", "refused"),
    [
        (roles.OPERATOR, {"cases.add_case", "cases.view_personal_data"}, {"catalog.change_category", "admin.view_logentry"}),
        (roles.DISPATCHER, {"cases.view_all_cases", "cases.view_personal_data"}, {"cases.add_case", "accounts.change_user"}),
        (roles.DEPARTMENT, {"cases.view_case"}, {"cases.view_all_cases", "cases.view_personal_data", "cases.add_case"}),
        (roles.INSPECTOR, {"cases.add_case"}, {"cases.view_all_cases", "cases.view_personal_data"}),
        (roles.LEADER, {"cases.view_all_cases"}, {"cases.view_personal_data", "cases.add_case", "catalog.change_category"}),
        (roles.SYSADMIN, {"accounts.change_user", "catalog.change_category", "geo.change_unitgrid"},
         {"auth.change_group", "admin.view_logentry", "cases.view_case"}),
        (roles.SECADMIN, {"auth.change_group"}, {"accounts.change_user", "catalog.change_category", "admin.view_logentry"}),
        (roles.AUDITOR, {"admin.view_logentry"}, {"accounts.change_user", "auth.change_group", "catalog.change_category"}),
    ],
)
def test_role_permission_sets(role, granted, refused):
    user = UserFactory(role=role)
    for perm in granted:
        assert user.has_perm(perm), perm
    for perm in refused:
        assert not user.has_perm(perm), perm


def test_admin_roles_are_staff_and_working_roles_are_not():
    assert UserFactory(role=roles.AUDITOR).is_staff
    assert not UserFactory(role=roles.OPERATOR).is_staff


@pytest.mark.parametrize(("first", "second"), [(roles.SYSADMIN, roles.SECADMIN), (roles.SYSADMIN, roles.AUDITOR), (roles.SECADMIN, roles.AUDITOR)])
def test_no_account_may_hold_two_administrator_roles(first, second):
    user = UserFactory(role=first)
    with pytest.raises(ValidationError):
        user_set_roles(user=user, role_codes=[first, second])
    # Adding the group directly (e.g. from a script) is refused too.
    with pytest.raises(ValidationError), transaction.atomic():
        user.groups.add(Group.objects.get(name=second))
    assert set(user.groups.values_list("name", flat=True)) == {first}


def test_unknown_role_is_refused():
    user = UserFactory()
    with pytest.raises(ValidationError):
        user_set_roles(user=user, role_codes=["wizard"])
