"""The audit trail (审计日志): who did what to which data, kept append-only and chained by hashes.

Every `AuditEntry` stores `hash = HMAC-SHA256(key, prev_hash + canonical JSON of the row)`,
where `prev_hash` is the previous entry's hash and the key lives outside the database (named
by `key_id`), so editing, deleting or re-ordering a row breaks the chain from that row on
(`services.verify_chain`) and a database writer cannot recompute it. Rows from before the key
(`key_id` empty) are plain SHA-256, vouched for by the first keyed row. `AuditChainHead` is a single row that
serialises appends and remembers the newest hash, which also exposes a truncated tail.

The `actor` link is a convenience for filtering and is not hashed (deleting a user sets it to
NULL); `actor_label`, which always names the account, is.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.db import models

GENESIS_HASH = "0" * 64


class AuditAction(models.TextChoices):
    LOGIN = "login", "登录"
    LOGIN_FAILED = "login_failed", "登录失败"
    LOGOUT = "logout", "退出登录"
    EXPORT = "export", "数据导出"
    IMPORT = "import", "数据导入"
    VIEW_PERSONAL_DATA = "view_personal_data", "查看个人信息"
    PERMISSION_CHANGE = "permission_change", "权限变更"
    CONFIG_CHANGE = "config_change", "配置变更"
    API_KEY_USE = "api_key_use", "API 密钥调用"
    ACCOUNT_CHANGE = "account_change", "账号变更"
    ANONYMISE = "anonymise", "个人信息匿名化"
    BACKUP = "backup", "数据备份"
    CHECKPOINT = "checkpoint", "日志清理检查点"


class AuditEntryQuerySet(models.QuerySet):
    """Refuses bulk edits and deletes; the one allowed update is the one Django issues itself."""

    def update(self, **kwargs):
        # Deleting a user sets `actor` to NULL through QuerySet.update (on_delete=SET_NULL).
        # `actor` is not hashed, so that leaves the chain intact; anything else is refused.
        if set(kwargs) == {"actor"} and kwargs["actor"] is None:
            return super().update(**kwargs)
        raise RuntimeError("AuditEntry is append-only")

    def bulk_update(self, *args, **kwargs):
        raise RuntimeError("AuditEntry is append-only")

    def delete(self):
        raise RuntimeError("AuditEntry is append-only; use audit.services.audit_purge")

    delete.queryset_only = True

    def _purge_through(self, last_id: int) -> int:
        """Delete rows up to `last_id`: only `audit_purge` calls this, after its retention checks."""
        return self.filter(id__lte=last_id)._raw_delete(self.db)


class AuditEntry(models.Model):
    """One line of the audit trail. Append-only: rows are never updated or deleted."""

    created_at = models.DateTimeField("时间", db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="操作人", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField("操作人名称", max_length=150, blank=True)
    action = models.CharField("动作", max_length=32, choices=AuditAction.choices, db_index=True)
    target = models.CharField("对象", max_length=255, blank=True)
    details = models.JSONField("详情", default=dict, blank=True)
    ip = models.GenericIPAddressField("来源地址", null=True, blank=True)
    prev_hash = models.CharField("上一条哈希", max_length=64)
    hash = models.CharField("哈希", max_length=64, unique=True)
    # Fingerprint of the HMAC key that signed the row (services.key_id_of); empty: plain SHA-256.
    key_id = models.CharField("签名密钥", max_length=16, blank=True, default="")

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = "审计日志"
        verbose_name_plural = "审计日志"
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["actor", "created_at"], name="audit_actor_time"),
            # The API-key summary looks up the key's latest entry (see audit.apikeys).
            models.Index(fields=["action", "target", "created_at"], name="audit_action_target_time"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.get_action_display()} {self.target}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("AuditEntry is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("AuditEntry is append-only")

    @property
    def details_text(self) -> str:
        """The details as JSON with Chinese kept readable (pages and exports show this)."""
        return json.dumps(self.details, ensure_ascii=False, sort_keys=True)


class AuditChainHead(models.Model):
    """The one row (pk=1) every append locks first; it names the newest entry of the chain."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_id = models.BigIntegerField("最新日志 ID", null=True, blank=True)
    last_hash = models.CharField("最新哈希", max_length=64, default=GENESIS_HASH)
    last_key_id = models.CharField("最新签名密钥", max_length=16, blank=True, default="")
    appended = models.BigIntegerField("累计条数", default=0)

    class Meta:
        verbose_name = "审计链头"
        verbose_name_plural = "审计链头"

    def __str__(self) -> str:
        return f"{self.last_id}: {self.last_hash[:12]}"
