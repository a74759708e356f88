"""Users and their scope. Roles are Django Groups (see `roles.py`); the scope says which
department or grids a user acts for."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

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
    # An account of another system, made by the API-key service (`api.keys.service_account_create`);
    # only such accounts carry API keys. Never set through a form.
    is_service_account = models.BooleanField("服务账号", default=False, editable=False)
    # An administrator's reset: who and when. The reset password is an initial password that
    # expires after CITYOPS_RESET_PASSWORD_HOURS; cleared when the owner sets their own.
    password_reset_by = models.CharField("密码重置人", max_length=150, blank=True, editable=False)
    password_reset_at = models.DateTimeField("密码重置时间", null=True, blank=True, editable=False)

    objects: ClassVar[CityOpsUserManager] = CityOpsUserManager()

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
            if not self.must_change_password:  # the owner's own password ends an administrator's reset
                self.password_reset_by, self.password_reset_at = "", None
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {
                    *update_fields, "password_changed_at", "must_change_password", "password_reset_by", "password_reset_at",
                }
        super().save(*args, **kwargs)
        if new_password and self.has_usable_password():
            PasswordHistory.record(self)

    def __str__(self) -> str:
        return self.display_name or self.username

    def check_password(self, raw_password) -> bool:
        # A password an administrator reset is good only for a short while: the owner is to
        # replace it at once, and a forgotten one cannot be used weeks later by whoever saw it.
        if self.reset_password_expired():
            return False
        return super().check_password(raw_password)

    def reset_password_expired(self, now=None) -> bool:
        if not (self.must_change_password and self.password_reset_at):
            return False
        from cityops.accounts.services import reset_password_hours

        hours = reset_password_hours()
        return (now or timezone.now()) - self.password_reset_at > timedelta(hours=hours)

    @property
    def role_codes(self) -> set[str]:
        """The codes of the roles this user holds, read from the groups' role keys (never their names)."""
        if not hasattr(self, "_role_codes"):
            self._role_codes = set(
                self.groups.filter(role_key__isnull=False).values_list("role_key__code", flat=True)
            )
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
        keep = max(int(settings.CITYOPS_PASSWORD_HISTORY), 1)
        stale = cls.objects.filter(user=user).values_list("pk", flat=True)[keep:]
        cls.objects.filter(pk__in=list(stale)).delete()


class RoleKey(models.Model):
    """The stable identity of a role group: `code` is a role of `accounts.roles.ROLES`.

    Bound by `roles_sync` (and the 0003 migration for existing groups); no admin form edits
    it, and a group bound to a role cannot be deleted, so renaming a group changes only its
    label: no group name makes a group another role, or no role."""

    code = models.CharField("角色代码", max_length=32, unique=True, editable=False)
    group = models.OneToOneField(
        "auth.Group", verbose_name="组", on_delete=models.PROTECT, related_name="role_key", editable=False,
    )

    class Meta:
        verbose_name = "角色标识"
        verbose_name_plural = "角色标识"

    def __str__(self) -> str:
        return self.code
