"""Last line of defence for 三员分立: whatever path adds groups or permissions to a user or a
group (forms, scripts, the reverse side of the relation), two admin roles never meet and an
administrator never holds more than its role. Roles are read from the groups' role keys, never
from their names. Every login claims its session, every logout is audited with its reason."""

from django.contrib.auth.models import Group, Permission
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from cityops.accounts.authcache import authorisations
from cityops.accounts.models import User
from cityops.accounts.services import check_user_authorisations
from cityops.accounts.sessions import REASON_USER, session_claim
from cityops.audit.models import AuditAction
from cityops.audit.services import audit_record


@receiver(m2m_changed, sender=User.groups.through)
def refuse_two_admin_roles(sender, instance, action, reverse, pk_set, **kwargs):
    """user.groups.add(…) and group.user_set.add(…) alike."""
    if action != "pre_add" or not pk_set:
        return
    if not reverse:
        check_user_authorisations(instance, add_group_pks=pk_set)
        return
    for user in User.objects.filter(pk__in=pk_set):
        check_user_authorisations(user, add_group_pks=[instance.pk])


@receiver(m2m_changed, sender=User.user_permissions.through, dispatch_uid="cityops.accounts.user_permissions")
def refuse_direct_grants_to_admins(sender, instance, action, reverse, pk_set, **kwargs):
    if action != "pre_add" or not pk_set:
        return
    if not reverse:
        check_user_authorisations(instance, add_permissions=pk_set)
        return
    for user in User.objects.filter(pk__in=pk_set):
        check_user_authorisations(user, add_permissions=[instance])


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="cityops.accounts.authcache.user_groups")
@receiver(m2m_changed, sender=User.user_permissions.through, dispatch_uid="cityops.accounts.authcache.user_perms")
@receiver(m2m_changed, sender=Group.permissions.through, dispatch_uid="cityops.accounts.authcache.group_perms")
@receiver([post_save, post_delete], sender=Group, dispatch_uid="cityops.accounts.authcache.group")
@receiver([post_save, post_delete], sender=Permission, dispatch_uid="cityops.accounts.authcache.permission")
@receiver(post_delete, sender=User, dispatch_uid="cityops.accounts.authcache.user")
def forget_cached_authorisations(sender, action: str = "", **kwargs):
    if not action or action.startswith("post_"):
        authorisations.invalidate()


@receiver(user_logged_in, dispatch_uid="cityops.accounts.session_claim")
def claim_session(sender, request, user, **kwargs):
    # API token requests also send user_logged_in, but they open no session.
    if request is None or not hasattr(request, "session") or request.path.startswith("/api/"):
        return
    session_claim(request=request, user=user)


@receiver(user_logged_out, dispatch_uid="cityops.accounts.logout_audit")
def record_logout(sender, request, user, **kwargs):
    if user is None:
        return
    audit_record(
        action=AuditAction.LOGOUT, actor=user, target=f"user:{user.get_username()}", request=request,
        details={"reason": getattr(request, "_cityops_logout_reason", REASON_USER)},
    )


@receiver(m2m_changed, sender=Group.permissions.through, dispatch_uid="cityops.accounts.group_permissions")
def refuse_admin_permissions_elsewhere(sender, instance, action, reverse, pk_set, **kwargs):
    """Whatever path adds permissions to a group (the admin, a script), the split holds."""
    from cityops.accounts.services import check_group_permissions

    if action != "pre_add" or not pk_set:
        return
    if reverse:  # permission.group_set.add(group, …)
        groups = list(Group.objects.filter(pk__in=pk_set))
        names = [f"{instance.content_type.app_label}.{instance.codename}"]
    else:
        groups = [instance]
        names = [f"{app}.{code}" for app, code in Permission.objects.filter(pk__in=pk_set).values_list("content_type__app_label", "codename")]
    for group in groups:
        check_group_permissions(group, names)

