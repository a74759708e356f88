"""Users and their scope. Roles are Django Groups (see `roles.py`); the scope says which
department or grids a user acts for."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


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

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def role_codes(self) -> set[str]:
        if not hasattr(self, "_role_codes"):
            self._role_codes = set(self.groups.values_list("name", flat=True))
        return self._role_codes

    def has_role(self, *codes: str) -> bool:
        return bool(self.role_codes.intersection(codes))
