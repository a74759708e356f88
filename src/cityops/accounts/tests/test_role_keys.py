"""三员分立 by a stable role key (issue 14, finding 2): a group's editable name makes it no role
and no other role; no administrator holds a business permission through any group; refusals in
the admin are form errors, never a 500."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.urls import reverse

from cityops.accounts import roles
from cityops.accounts.models import RoleKey, User
from cityops.accounts.selectors import role_group, users_with_role
from cityops.accounts.services import roles_sync
from cityops.accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

VIEW_ALL = "cases.view_all_cases"
PERSONAL = "cases.view_personal_data"


def perm(name: str) -> Permission:
    app, codename = name.split(".")
    return Permission.objects.get(content_type__app_label=app, codename=codename)


def refused(call) -> None:
    """The call raises the 三员分立 ValidationError (in a savepoint: the m2m write is rolled back)."""
    with pytest.raises(ValidationError, match="三员分立"), transaction.atomic():
        call()


def rename(code: str, name: str) -> Group:
    group = role_group(code)
    group.name = name
    group.save()
    return group


@pytest.fixture
def synced(db):
    roles_sync()


def test_renaming_a_role_group_keeps_its_members_in_that_role(synced):
    user = UserFactory(role=roles.SECADMIN)
    rename(roles.SECADMIN, "secadmin-x")
    user = User.objects.get(pk=user.pk)
    assert user.has_role(roles.SECADMIN) and user.role_codes == {roles.SECADMIN}


def test_renaming_the_secadmin_group_does_not_let_it_take_case_permissions(synced):
    group = rename(roles.SECADMIN, "secadmin-x")
    for name in (VIEW_ALL, PERSONAL):
        refused(lambda name=name: group.permissions.add(perm(name)))
    assert not group.permissions.filter(codename__in=["view_all_cases", "view_personal_data"]).exists()


def test_a_group_renamed_to_a_role_code_is_not_that_role(synced):
    rename(roles.LEADER, "leader-old")
    impostor = Group.objects.create(name=roles.LEADER)
    user = UserFactory(role=roles.OPERATOR)
    user.groups.add(impostor)
    assert not User.objects.get(pk=user.pk).has_role(roles.LEADER)
    assert not users_with_role(roles.LEADER).filter(pk=user.pk).exists()


def test_a_role_group_cannot_be_deleted(synced):
    with pytest.raises(ProtectedError), transaction.atomic():
        role_group(roles.SECADMIN).delete()


def test_roles_sync_keeps_the_key_of_a_renamed_group(synced):
    group = rename(roles.DISPATCHER, "值班长组")
    roles_sync()
    assert role_group(roles.DISPATCHER) == group and not Group.objects.filter(name=roles.DISPATCHER).exists()
    assert RoleKey.objects.count() == len(roles.ROLES)


def test_queries_by_role_follow_the_key_after_a_rename(synced):
    dispatcher = UserFactory(role=roles.DISPATCHER)
    rename(roles.DISPATCHER, "renamed")
    assert list(users_with_role(roles.DISPATCHER)) == [dispatcher]


def test_an_administrator_cannot_join_a_custom_group_with_business_permissions(synced):
    custom = Group.objects.create(name="专项组")
    custom.permissions.add(perm(VIEW_ALL))
    for code in roles.ADMIN_ROLES:
        admin_user = UserFactory(role=code)
        refused(lambda u=admin_user: u.groups.add(custom))
        refused(lambda u=admin_user: custom.user_set.add(u))
        assert not admin_user.groups.filter(pk=custom.pk).exists()


def test_business_permissions_cannot_be_added_to_a_group_an_administrator_is_in(synced):
    sysadmin = UserFactory(role=roles.SYSADMIN)
    custom = Group.objects.create(name="空组")
    custom.user_set.add(sysadmin)  # no permissions yet: allowed
    refused(lambda: custom.permissions.add(perm(PERSONAL)))
    refused(lambda: perm(VIEW_ALL).group_set.add(custom))


def test_an_administrator_cannot_also_hold_a_business_role(synced):
    sysadmin = UserFactory(role=roles.SYSADMIN)
    refused(lambda: sysadmin.groups.add(role_group(roles.OPERATOR)))


def test_an_administrator_gets_no_direct_business_permission(synced):
    auditor = UserFactory(role=roles.AUDITOR)
    refused(lambda: auditor.user_permissions.add(perm(VIEW_ALL)))


def test_secadmin_adding_case_permissions_to_its_renamed_group_gets_a_form_error_not_a_500(client, synced):
    secadmin = UserFactory(role=roles.SECADMIN)
    client.force_login(secadmin)
    group = rename(roles.SECADMIN, "secadmin-x")
    wanted = [p.pk for p in group.permissions.all()] + [perm(VIEW_ALL).pk, perm(PERSONAL).pk]
    response = client.post(reverse("admin:auth_group_change", args=[group.pk]), {"permissions": wanted})
    assert response.status_code == 200
    assert "三员分立" in response.content.decode()
    assert not User.objects.get(pk=secadmin.pk).has_perm(VIEW_ALL)


def test_secadmin_adding_case_permissions_to_its_own_group_gets_a_form_error_not_a_500(client, synced):
    client.force_login(UserFactory(role=roles.SECADMIN))
    group = role_group(roles.SECADMIN)
    wanted = [p.pk for p in group.permissions.all()] + [perm(VIEW_ALL).pk]
    response = client.post(reverse("admin:auth_group_change", args=[group.pk]), {"name": group.name, "permissions": wanted})
    assert response.status_code == 200 and "三员分立" in response.content.decode()
    assert not group.permissions.filter(codename="view_all_cases").exists()


def test_secadmin_cannot_rename_a_role_group_in_the_admin(client, synced):
    client.force_login(UserFactory(role=roles.SECADMIN))
    group = role_group(roles.LEADER)
    perms = list(group.permissions.values_list("pk", flat=True))
    client.post(reverse("admin:auth_group_change", args=[group.pk]), {"name": "leader-x", "permissions": perms})
    group.refresh_from_db()
    assert group.name == roles.LEADER


def test_secadmin_giving_an_admin_a_business_role_gets_a_form_error(client, synced):
    client.force_login(UserFactory(role=roles.SECADMIN))
    sysadmin = UserFactory(role=roles.SYSADMIN)
    response = client.post(reverse("admin:accounts_user_change", args=[sysadmin.pk]), {
        "groups": [role_group(roles.SYSADMIN).pk, role_group(roles.OPERATOR).pk],
    })
    assert response.status_code == 200 and "三员分立" in response.content.decode()
    assert User.objects.get(pk=sysadmin.pk).role_codes == {roles.SYSADMIN}


def test_secadmin_putting_an_admin_into_a_custom_group_with_business_permissions_gets_a_form_error(client, synced):
    client.force_login(UserFactory(role=roles.SECADMIN))
    custom = Group.objects.create(name="全部案件")
    custom.permissions.add(perm(VIEW_ALL), perm(PERSONAL))
    auditor = UserFactory(role=roles.AUDITOR)
    response = client.post(reverse("admin:accounts_user_change", args=[auditor.pk]), {
        "groups": [role_group(roles.AUDITOR).pk, custom.pk],
    })
    assert response.status_code == 200 and "三员分立" in response.content.decode()
    assert not User.objects.get(pk=auditor.pk).groups.filter(pk=custom.pk).exists()


def test_the_migration_binds_existing_groups_by_their_code(synced):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("cityops.accounts.migrations.0003_role_keys_service_accounts_resets")
    RoleKey.objects.all().delete()
    migration.bind_role_groups(apps, None)
    assert {k.code: k.group.name for k in RoleKey.objects.select_related("group")} == {c: c for c in roles.ROLES}
