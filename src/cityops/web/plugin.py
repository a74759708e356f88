"""What the web app adds (see `cityops.common.plugins`): the home page and the admin on the menu."""

from cityops.accounts import roles
from cityops.common.plugins import NavItem, Plugin

PLUGIN = Plugin(
    nav=(
        NavItem("首页", "web:home", order=0),
        NavItem("管理后台", "admin:index", frozenset({roles.SYSADMIN, roles.SECADMIN, roles.AUDITOR}), order=900,
                description="基础数据、用户与权限、审计日志"),
    ),
)
