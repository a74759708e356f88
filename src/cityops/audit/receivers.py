"""Permission, account and configuration changes go to the audit trail, whichever door they came through.

* Role and permission changes are caught where they happen, on the many-to-many tables
  (`User.groups`, `User.user_permissions`, `Group.permissions`): the admin, services,
  `roles_sync`, scripts. The actor and address come from `audit.context`.
* Every admin add/change/delete leaves a `LogEntry`; each one becomes an audit entry
  (accounts → account change, groups → permission change, anything else → configuration
  change: categories, time limits, departments, responsibility rules, calendar, routing
  settings …). The admin's bulk delete writes its LogEntries with bulk_create (no signal),
  so the site-wide "delete selected" action is replaced by one that records them.
"""

from __future__ import annotations

from django.contrib.admin.actions import delete_selected
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db.models.signals import m2m_changed, post_save
from django.dispatch import receiver

from cityops.audit.context import current
from cityops.audit.models import AuditAction
from cityops.audit.services import audit_record

User = get_user_model()
OPS = {ADDITION: "add", CHANGE: "change", DELETION: "delete"}
_SNAPSHOT = "_audit_m2m_before_clear"


def _record(*, action: str, target: str, details: dict, actor=None) -> None:
    ctx_actor, request = current()
    actor = actor or ctx_actor
    audit_record(action=action, actor=actor, actor_label="" if actor else "系统", target=target,
                 details=details, request=request)


def _perm_names(pks) -> list[str]:
    return sorted(
        f"{app}.{code}" for app, code in Permission.objects.filter(pk__in=pks).values_list("content_type__app_label", "codename")
    )


def _m2m_diff(instance, action: str, pk_set, names, attr: str) -> tuple[str, list[str]] | None:
    """('added'|'removed', names) for a post_* action; remembers the rows before a clear."""
    if action == "pre_clear":
        setattr(instance, _SNAPSHOT, names(getattr(instance, attr).values_list("pk", flat=True)))
        return None
    if action == "post_clear":
        return "removed", getattr(instance, _SNAPSHOT, [])
    if action in ("post_add", "post_remove") and pk_set:
        return ("added" if action == "post_add" else "removed"), names(pk_set)
    return None


def _group_roles(pks) -> list[str]:
    """Role groups by their role code (the name is an editable label), other groups by name."""
    return sorted(code or name for name, code in Group.objects.filter(pk__in=pks).values_list("name", "role_key__code"))


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="cityops.audit.user_groups")
def record_role_change(sender, instance, action, reverse, pk_set, **kwargs):
    if reverse:  # group.user_set.add(...): one entry per user
        if action in ("post_add", "post_remove") and pk_set:
            verb = "added" if action == "post_add" else "removed"
            for username in User.objects.filter(pk__in=pk_set).values_list("username", flat=True):
                _record(action=AuditAction.PERMISSION_CHANGE, target=f"user:{username}", details={f"roles_{verb}": [instance.name]})
        return
    diff = _m2m_diff(instance, action, pk_set, _group_roles, "groups")
    if diff and diff[1]:
        _record(action=AuditAction.PERMISSION_CHANGE, target=f"user:{instance.get_username()}", details={f"roles_{diff[0]}": diff[1]})


@receiver(m2m_changed, sender=User.user_permissions.through, dispatch_uid="cityops.audit.user_permissions")
def record_user_permission_change(sender, instance, action, reverse, pk_set, **kwargs):
    if reverse:
        return
    diff = _m2m_diff(instance, action, pk_set, _perm_names, "user_permissions")
    if diff and diff[1]:
        _record(action=AuditAction.PERMISSION_CHANGE, target=f"user:{instance.get_username()}",
                details={f"permissions_{diff[0]}": diff[1]})


@receiver(m2m_changed, sender=Group.permissions.through, dispatch_uid="cityops.audit.group_permissions")
def record_group_permission_change(sender, instance, action, reverse, pk_set, **kwargs):
    if reverse:
        return
    diff = _m2m_diff(instance, action, pk_set, _perm_names, "permissions")
    if diff and diff[1]:
        _record(action=AuditAction.PERMISSION_CHANGE, target=f"group:{instance.name}", details={f"permissions_{diff[0]}": diff[1]})


def _action_for(app_label: str, model: str) -> str:
    if (app_label, model) == (User._meta.app_label, User._meta.model_name):
        return AuditAction.ACCOUNT_CHANGE
    if app_label == "auth":
        return AuditAction.PERMISSION_CHANGE
    return AuditAction.CONFIG_CHANGE


@receiver(post_save, sender=LogEntry, dispatch_uid="cityops.audit.admin_log")
def record_admin_change(sender, instance: LogEntry, created: bool, **kwargs):
    if not created:
        return
    ct = instance.content_type
    app_label, model = (ct.app_label, ct.model) if ct else ("", "")
    _record(
        action=_action_for(app_label, model), actor=instance.user,
        target=f"{app_label}.{model}:{instance.object_id}",
        details={
            "op": OPS.get(instance.action_flag, str(instance.action_flag)), "via": "admin",
            "object": instance.object_repr, "changes": instance.get_change_message(),
        },
    )


def audited_delete_selected(modeladmin, request, queryset):
    """Django's "delete selected" plus one audit entry when it deletes several rows at once
    (a single row's LogEntry is saved one by one and recorded by `record_admin_change`)."""
    opts = modeladmin.model._meta
    before = {str(pk): str(obj)[:100] for pk, obj in ((o.pk, o) for o in queryset)}
    response = delete_selected(modeladmin, request, queryset)
    gone = [pk for pk in before if not modeladmin.model._default_manager.filter(pk=pk).exists()]
    if response is None and len(gone) > 1:
        audit_record(
            action=_action_for(opts.app_label, opts.model_name), request=request,
            target=f"{opts.app_label}.{opts.model_name}:*",
            details={"op": "delete", "via": "admin", "count": len(gone), "objects": {pk: before[pk] for pk in gone[:200]}},
        )
    return response


audited_delete_selected.allowed_permissions = ("delete",)
audited_delete_selected.short_description = delete_selected.short_description
