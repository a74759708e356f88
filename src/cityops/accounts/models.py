"""Users and their scope. Roles are Django Groups (see `roles.py`); the scope says which
department or grids a user acts for."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone


class CityOpsUserManager(UserManager):
    def _create_user_object(self, username, email, password, **extra_fields):
        # set_password (not Django's bare make_password) so that the new password goes
        # through User.save(): history, expiry clock, and the initial-password flag, which
        # `must_change_password=False` turns off explicitly.
        initial = extra_fields.pop("must_change_password", True)
        user = super()._create_user_object(username, email, None, **extra_fields)
        user.set_password(password)
        user._initial_password = bool(initial)
        return user


class User(AbstractUser):
    """A civil servant, system account or administrator of the center."""

    display_name = models.CharField("姓名", max_length=64, blank=True)
    phone = models.CharField("手机号", max_length=20, blank=True)
    department = models.ForeignKey(
        "catalog.Department", verbose_name="所属部门", null=True, blank=True, on_delete=models.PROTECT,
        related_name="members",
    )
    grids = models.ManyToManyField("geo.UnitGrid", verbose_name="负责网格", blank=True, related_name="inspectors")
    must_change_password = models.BooleanField("须修改初始密码", default=False)
    # The clock of password expiry; rows that predate it start counting from the migration.
    password_changed_at = models.DateTimeField("密码修改时间", default=timezone.now)
    # The session of the latest login, for the optional single-session rule.
    current_session_key = models.CharField("当前会话", max_length=64, blank=True, editable=False)

    objects = CityOpsUserManager()

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"

    def save(self, *args, **kwargs):
        # `_password` holds the raw password only after set_password(); hash upgrades at login
        # clear it first, so they count as neither a change nor a history entry.
        new_password = self._password is not None
        if new_password:
            self.password_changed_at = timezone.now()
            # A password anyone but its owner sets (an administrator, createsuperuser, a
            # service) is an initial password, which the owner must replace at the next login.
            self.must_change_password = getattr(self, "_initial_password", True)
            self._initial_password = True
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "password_changed_at", "must_change_password"}
        super().save(*args, **kwargs)
        if new_password and self.has_usable_password():
            PasswordHistory.record(self)

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def role_codes(self) -> set[str]:
        if not hasattr(self, "_role_codes"):
            self._role_codes = set(self.groups.values_list("name", flat=True))
        return self._role_codes

    def has_role(self, *codes: str) -> bool:
        return bool(self.role_codes.intersection(codes))


class PasswordHistory(models.Model):
    """A hash this user's password once had; the newest `CITYOPS_PASSWORD_HISTORY` are kept."""

    user = models.ForeignKey(User, verbose_name="用户", on_delete=models.CASCADE, related_name="password_history")
    password = models.CharField("密码哈希", max_length=128)
    created_at = models.DateTimeField("设置时间", default=timezone.now)

    class Meta:
        verbose_name = "历史密码"
        verbose_name_plural = "历史密码"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user_id} {self.created_at:%Y-%m-%d %H:%M}"

    @classmethod
    def record(cls, user: User) -> None:
        """Remember the user's current hash and forget the ones beyond the history depth."""
        cls.objects.create(user=user, password=user.password)
        keep = max(int(getattr(settings, "CITYOPS_PASSWORD_HISTORY", 5)), 1)
        stale = cls.objects.filter(user=user).values_list("pk", flat=True)[keep:]
        cls.objects.filter(pk__in=list(stale)).delete()
