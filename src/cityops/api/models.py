"""Bearer tokens of the v1 API.

A token is `<prefix>.<secret>`: the prefix finds the row, the secret is kept only as its
SHA-256 digest, so a leaked database does not leak usable tokens.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


def token_lifetime() -> timedelta:
    return timedelta(hours=float(getattr(settings, "CITYOPS_API_TOKEN_HOURS", 8)))


def default_expiry():
    return timezone.now() + token_lifetime()


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="用户", on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField("名称", max_length=64, blank=True, help_text="用途说明，如“视频平台对接”")
    prefix = models.CharField("前缀", max_length=16, unique=True, help_text="令牌的公开部分，用于查找")
    key_hash = models.CharField("密钥摘要 (SHA-256)", max_length=64)
    created_at = models.DateTimeField("创建时间", default=timezone.now)
    last_used_at = models.DateTimeField("最近使用", null=True, blank=True)
    expires_at = models.DateTimeField("过期时间", default=default_expiry, db_index=True)
    revoked = models.BooleanField("已吊销", default=False)

    class Meta:
        verbose_name = "接口令牌"
        verbose_name_plural = "接口令牌"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return not self.revoked and self.expires_at > now and self.user.is_active
