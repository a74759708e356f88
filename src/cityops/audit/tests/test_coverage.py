"""What goes into the audit trail by itself: role, permission, account and configuration changes
(admin, services, scripts), and 三员分立 on every one of those doors."""

import datetime

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse

from cityops.accounts import roles
from cityops.accounts.services import roles_sync, user_set_roles
from cityops.accounts.tests.factories import UserFactory
from cityops.audit.context import acting
from cityops.audit.models import AuditAction, AuditEntry
from cityops.audit.services import verify_chain
from cityops.catalog.models import CalendarOverride
from cityops.catalog.tests.factories import CalendarOverrideFactory

pytestmark = pytest.mark.django_db


def _latest(action: str, target: str) -> AuditEntry:
    return AuditEntry.objects.filter(action=action, target=target).order_by("-id").first()


def _login(client, role: str):
    user = UserFactory(role=role)
    client.force_login(user)
    return user


# ---------------------------------------------------------------- roles and permissions


def test_role_change_by_the_security_administrator_is_recorded_with_who_and_what():
    secadmin = UserFactory(role=roles.SECADMIN)
    clerk = UserFactory(username="clerk")
    user_set_roles(user=clerk, role_codes=[roles.OPERATOR], actor=secadmin)
    with acting(actor=secadmin):
        user_set_roles(user=clerk, role_codes=[roles.DISPATCHER], actor=secadmin)
    entries = list(AuditEntry.objects.filter(action=AuditAction.PERMISSION_CHANGE, target="user:clerk").order_by("id"))
    assert [e.details for e in entries] == [
        {"roles_added": ["operator"]}, {"roles_removed": ["operator"]}, {"roles_added": ["dispatcher"]},
    ]
    assert entries[-1].actor == secadmin
    assert verify_chain() == (True, None)


def test_group_permission_changes_are_recorded_however_made():
    roles_sync()
    group = Group.objects.get(name=roles.LEADER)
    perm = Permission.objects.get(codename="add_notification")
    group.permissions.add(perm)
    assert _latest(AuditAction.PERMISSION_CHANGE, "group:leader").details == {"permissions_added": ["cases.add_notification"]}
    group.permissions.clear()
    removed = _latest(AuditAction.PERMISSION_CHANGE, "group:leader").details["permissions_removed"]
    assert "cases.add_notification" in removed and "cases.view_all_cases" in removed
    assert _latest(AuditAction.PERMISSION_CHANGE, "group:leader").actor_label == "系统"


def test_direct_user_permissions_are_recorded():
    user = UserFactory(username="direct")
    user.user_permissions.add(Permission.objects.get(codename="view_region"))
    assert _latest(AuditAction.PERMISSION_CHANGE, "user:direct").details == {"permissions_added": ["geo.view_region"]}


@pytest.mark.parametrize("role", [roles.SYSADMIN, roles.AUDITOR, roles.OPERATOR])
def test_only_the_security_administrator_assigns_roles(role):
    actor = UserFactory(role=role)
    target = UserFactory()
    with pytest.raises(PermissionDenied):
        user_set_roles(user=target, role_codes=[roles.DISPATCHER], actor=actor)
    assert not target.groups.exists()


def test_the_security_administrator_cannot_change_his_own_roles():
    secadmin = UserFactory(role=roles.SECADMIN)
    with pytest.raises(PermissionDenied):
        user_set_roles(user=secadmin, role_codes=[roles.SECADMIN, roles.DISPATCHER], actor=secadmin)


@pytest.mark.parametrize(
    ("group", "perm"),
    [
        (roles.SECADMIN, "audit.view_auditentry"),      # widening an admin role
        (roles.SYSADMIN, "auth.change_group"),
        (roles.OPERATOR, "audit.view_auditentry"),      # smuggling an admin power into a working role
        (roles.DISPATCHER, "catalog.change_category"),
    ],
)
def test_no_group_is_widened_into_another_administrators_powers(group, perm):
    roles_sync()
    app, codename = perm.split(".")
    permission = Permission.objects.get(content_type__app_label=app, codename=codename)
    with pytest.raises(ValidationError), transaction.atomic():
        Group.objects.get(name=group).permissions.add(permission)
    with pytest.raises(ValidationError), transaction.atomic():
        permission.group_set.add(Group.objects.get(name=group))


def test_admin_role_groups_accept_their_own_table_entries():
    roles_sync()
    group = Group.objects.get(name=roles.AUDITOR)
    group.permissions.clear()
    roles_sync()
    assert group.permissions.filter(codename="view_auditentry").exists()


# ---------------------------------------------------------------- the admin, 三员分立


def test_secadmin_assigns_a_role_in_the_admin_and_it_is_recorded_with_the_address(client):
    secadmin = _login(client, roles.SECADMIN)
    clerk = UserFactory(username="clerk2")
    dispatcher = Group.objects.get(name=roles.DISPATCHER)
    page = client.get(reverse("admin:accounts_user_change", args=[clerk.pk]))
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert list(form.fields) == ["groups"]  # nothing but the roles is editable for the security administrator
    response = client.post(reverse("admin:accounts_user_change", args=[clerk.pk]), {"groups": [dispatcher.pk]}, REMOTE_ADDR="10.2.3.4")
    assert response.status_code == 302
    assert set(clerk.groups.values_list("name", flat=True)) == {roles.DISPATCHER}
    entry = _latest(AuditAction.PERMISSION_CHANGE, "user:clerk2")
    assert entry.actor == secadmin and entry.ip == "10.2.3.4" and entry.details == {"roles_added": ["dispatcher"]}
    assert _latest(AuditAction.ACCOUNT_CHANGE, f"accounts.user:{clerk.pk}").actor == secadmin


def test_sysadmin_edits_an_account_but_not_its_roles(client):
    sysadmin = _login(client, roles.SYSADMIN)
    clerk = UserFactory(username="clerk3", role=roles.OPERATOR)
    page = client.get(reverse("admin:accounts_user_change", args=[clerk.pk]))
    assert page.status_code == 200 and "groups" not in page.context["adminform"].form.fields
    secadmin_group = Group.objects.get(name=roles.SECADMIN)
    data = {"username": "clerk3", "password": clerk.password, "display_name": "改名", "phone": "", "email": "",
            "groups": [secadmin_group.pk], "is_active": "on"}
    response = client.post(reverse("admin:accounts_user_change", args=[clerk.pk]), data)
    assert response.status_code == 302
    clerk.refresh_from_db()
    assert clerk.display_name == "改名"
    assert set(clerk.groups.values_list("name", flat=True)) == {roles.OPERATOR}
    entry = _latest(AuditAction.ACCOUNT_CHANGE, f"accounts.user:{clerk.pk}")
    assert entry.actor == sysadmin and entry.details["op"] == "change"


def test_sysadmin_cannot_give_himself_roles_in_the_admin(client):
    sysadmin = _login(client, roles.SYSADMIN)
    page = client.get(reverse("admin:accounts_user_change", args=[sysadmin.pk]))
    assert "groups" not in page.context["adminform"].form.fields
    client.post(reverse("admin:accounts_user_change", args=[sysadmin.pk]), {
        "username": sysadmin.username, "password": sysadmin.password, "display_name": "x", "groups": [Group.objects.get(name=roles.SECADMIN).pk],
        "is_active": "on",
    })
    assert set(sysadmin.groups.values_list("name", flat=True)) == {roles.SYSADMIN}


@pytest.mark.parametrize("other", [roles.SECADMIN, roles.AUDITOR])
def test_sysadmin_cannot_edit_or_reset_the_password_of_another_administrator(client, other):
    _login(client, roles.SYSADMIN)
    target = UserFactory(role=other)
    response = client.post(reverse("admin:accounts_user_change", args=[target.pk]), {"username": target.username, "is_active": ""})
    assert response.status_code == 403
    password_url = reverse("admin:auth_user_password_change", args=[target.pk])
    assert client.post(password_url, {"password1": "Xx-new-pass-123", "password2": "Xx-new-pass-123"}).status_code == 403
    target.refresh_from_db()
    assert target.is_active and target.check_password("Demo-pass-123")


def test_secadmin_cannot_reset_passwords(client):
    _login(client, roles.SECADMIN)
    target = UserFactory(role=roles.AUDITOR)
    url = reverse("admin:auth_user_password_change", args=[target.pk])
    assert client.post(url, {"password1": "Xx-new-pass-123", "password2": "Xx-new-pass-123"}).status_code == 403


@pytest.mark.parametrize("role", [roles.SECADMIN, roles.AUDITOR])
def test_only_the_system_administrator_changes_reference_data(client, role):
    _login(client, role)
    response = client.post(reverse("admin:catalog_calendaroverride_add"), {"date": "2026-10-09", "is_workday": "on", "note": "x"})
    assert response.status_code == 403
    assert not CalendarOverride.objects.exists()


@pytest.mark.parametrize("role", [roles.SYSADMIN, roles.SECADMIN])
def test_sysadmin_and_secadmin_cannot_read_the_audit_trail(client, role):
    _login(client, role)
    assert client.get(reverse("admin:audit_auditentry_changelist")).status_code == 403
    assert client.get(reverse("audit:list")).status_code == 403


# ---------------------------------------------------------------- configuration changes


def test_reference_data_changes_in_the_admin_are_recorded(client):
    sysadmin = _login(client, roles.SYSADMIN)
    response = client.post(reverse("admin:catalog_calendaroverride_add"),
                           {"date": "2026-10-09", "is_workday": "on", "note": "调休"}, REMOTE_ADDR="10.0.0.9")
    assert response.status_code == 302
    override = CalendarOverride.objects.get()
    entry = _latest(AuditAction.CONFIG_CHANGE, f"catalog.calendaroverride:{override.pk}")
    assert entry.actor == sysadmin and entry.ip == "10.0.0.9"
    assert entry.details["op"] == "add" and entry.details["via"] == "admin"


def test_a_bulk_delete_in_the_admin_is_recorded_once_with_every_row(client):
    _login(client, roles.SYSADMIN)
    overrides = [CalendarOverrideFactory(date=datetime.date(2026, 10, d), is_workday=True) for d in (10, 11)]
    response = client.post(reverse("admin:catalog_calendaroverride_changelist"), {
        "action": "delete_selected", "_selected_action": [o.pk for o in overrides], "post": "yes",
    })
    assert response.status_code == 302 and not CalendarOverride.objects.exists()
    entry = _latest(AuditAction.CONFIG_CHANGE, "catalog.calendaroverride:*")
    assert entry.details["count"] == 2 and set(entry.details["objects"]) == {str(o.pk) for o in overrides}


def test_a_single_row_deleted_through_the_action_is_recorded(client):
    _login(client, roles.SYSADMIN)
    override = CalendarOverrideFactory(date=datetime.date(2026, 10, 12), is_workday=True)
    client.post(reverse("admin:catalog_calendaroverride_changelist"), {
        "action": "delete_selected", "_selected_action": [override.pk], "post": "yes",
    })
    assert _latest(AuditAction.CONFIG_CHANGE, f"catalog.calendaroverride:{override.pk}").details["op"] == "delete"


def test_auto_dispatch_switch_is_recorded(client):
    from cityops.routing.models import RoutingSettings

    root = UserFactory(is_superuser=True, is_staff=True)  # routing settings are not in any role's table
    client.force_login(root)
    settings_row = RoutingSettings.objects.get_or_create(pk=1)[0]
    data = {"auto_dispatch_enabled": "", "target_precision": settings_row.target_precision}
    assert client.post(reverse("admin:routing_routingsettings_change", args=[1]), data).status_code == 302
    assert RoutingSettings.objects.get(pk=1).auto_dispatch_enabled is False
    entry = _latest(AuditAction.CONFIG_CHANGE, "routing.routingsettings:1")
    assert entry.actor == root and entry.details["op"] == "change"


def test_routing_model_activation_is_recorded():
    from cityops.routing import registry
    from cityops.routing.models import RoutingModel

    for version in (1, 2):
        RoutingModel.objects.create(version=version, algorithm="test", training_size=1, threshold=0.9, artifact=b"")
    actor = UserFactory(is_superuser=True)
    registry.model_activate(1, actor=actor)
    registry.model_activate(2)
    first = _latest(AuditAction.CONFIG_CHANGE, "routing.routingmodel:v1")
    second = _latest(AuditAction.CONFIG_CHANGE, "routing.routingmodel:v2")
    assert first.actor == actor and first.details["op"] == "activate"
    assert second.actor_label == "系统" and second.details["previous"] == [1]
