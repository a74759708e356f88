from django.apps import AppConfig

AUDITOR_PERMISSIONS = ["audit.view_auditentry"]


class AuditConfig(AppConfig):
    name = "cityops.audit"
    label = "audit"
    verbose_name = "审计日志"

    def ready(self) -> None:
        from django.contrib import admin

        from cityops.accounts import roles
        from cityops.audit import checks, receivers, signals  # noqa: F401  (system checks; login, permission and configuration receivers)

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

