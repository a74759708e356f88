import factory

from cityops.accounts.models import User
from cityops.accounts.services import user_set_roles


class UserFactory(factory.django.DjangoModelFactory):
    """A user with one role: `UserFactory(role="dispatcher")`, `UserFactory(role="department", department=d)`."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"测试用户{n}")
    password = factory.django.Password("Demo-pass-123")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            from django.contrib.auth.models import Group

            from cityops.accounts.services import roles_sync

            if not Group.objects.filter(name=extracted).exists():
                roles_sync()
            user_set_roles(user=self, role_codes=[extracted])
