from django.apps import AppConfig

AUDITOR_PERMISSIONS = ["audit.view_auditentry"]


class AuditConfig(AppConfig):
    name = "cityops.audit"
    label = "audit"
    verbose_name = "审计日志"

    def ready(self) -> None:
        from cityops.accounts import roles
        from cityops.audit import signals  # noqa: F401  (login receivers)

        # 三员分立: only the audit administrator reads the trail (see accounts.roles).
        granted = roles.ROLE_PERMISSIONS[roles.AUDITOR]
        granted += [perm for perm in AUDITOR_PERMISSIONS if perm not in granted]
