"""What the audit app adds (see `cityops.common.plugins`): 三员分立 — only the audit
administrator reads the trail (see accounts.roles), from the menu."""

from cityops.accounts import roles
from cityops.common.plugins import NavItem, Plugin

AUDITOR_PERMISSIONS = ["audit.view_auditentry"]

PLUGIN = Plugin(
    nav=(
        NavItem("审计日志", "audit:list", frozenset({roles.AUDITOR}), order=890,
                description="查询、校验与导出审计日志（登录、权限与配置变更、导出、查看个人信息、接口调用）"),
    ),
    permissions={roles.AUDITOR: AUDITOR_PERMISSIONS},
)
