from django.apps import AppConfig

AUDITOR_PERMISSIONS = ["audit.view_auditentry"]


class AuditConfig(AppConfig):
    name = "cityops.audit"
    label = "audit"
    verbose_name = "审计日志"

    def ready(self) -> None:
        from django.contrib import admin
        from django.db.models.signals import post_migrate

        from cityops.accounts import roles
        from cityops.audit import checks, receivers, signals  # noqa: F401  (system checks; login, permission and configuration receivers)

        post_migrate.connect(_seal_after_migrate, sender=self)

        admin.site.add_action(receivers.audited_delete_selected, "delete_selected")

        # 三员分立: only the audit administrator reads the trail (see accounts.roles).
        granted = roles.ROLE_PERMISSIONS[roles.AUDITOR]
        granted += [perm for perm in AUDITOR_PERMISSIONS if perm not in granted]
        self._register_nav()

    @staticmethod
    def _register_nav() -> None:
        from cityops.accounts import roles
        from cityops.web.navigation import NAV_ITEMS, NavItem

        item = NavItem("审计日志", "audit:list", frozenset({roles.AUDITOR}), order=890,
                       description="查询、校验与导出审计日志（登录、权限与配置变更、导出、查看个人信息、接口调用）")
        if item.url_name not in {i.url_name for i in NAV_ITEMS}:
            NAV_ITEMS.append(item)


def _seal_after_migrate(sender, using="default", **kwargs) -> None:
    """Rows written before the chain had a key are sealed by the upgrade checkpoint as soon as
    the migration that brings the key runs (services.audit_seal), not at the first new entry."""
    from cityops.audit.models import AuditEntry
    from cityops.audit.services import LEGACY_KEY_ID, audit_seal

    if using != "default":
        return
    newest = AuditEntry.objects.using(using).order_by("-id").values_list("key_id", flat=True).first()
    if newest == LEGACY_KEY_ID:
        audit_seal()
