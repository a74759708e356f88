"""Last line of defence for 三员分立: whatever path adds groups to a user, two admin roles never meet."""

from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from cityops.accounts.models import User
from cityops.accounts.services import check_separation_of_duties


@receiver(m2m_changed, sender=User.groups.through)
def refuse_two_admin_roles(sender, instance, action, pk_set, **kwargs):
    if action != "pre_add" or not isinstance(instance, User):
        return
    adding = set(Group.objects.filter(pk__in=pk_set).values_list("name", flat=True))
    current = set(instance.groups.values_list("name", flat=True))
    check_separation_of_duties(current | adding)
