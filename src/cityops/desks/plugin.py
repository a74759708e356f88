"""What the desks app adds (see `cityops.common.plugins`): the role desks, the case list and
the notifications page on the menu and the home page."""

from cityops.accounts import roles
from cityops.common.plugins import NavItem, Plugin

_CASE_ROLES = frozenset({roles.OPERATOR, roles.DISPATCHER, roles.DEPARTMENT, roles.INSPECTOR, roles.LEADER})

PLUGIN = Plugin(
    nav=(
        NavItem("受理台", "cases:desk_operator", frozenset({roles.OPERATOR}), order=10,
                description="热线受理登记，待受理案件立案、不予立案、直接答复、合并，回访"),
        NavItem("派遣台", "cases:desk_dispatcher", frozenset({roles.DISPATCHER}), order=20,
                description="按权责清单派遣，延期审批，挂账，核查结案，超期看板"),
        NavItem("处置台", "cases:desk_department", frozenset({roles.DEPARTMENT}), order=30,
                description="本部门待签收、处置中案件：签收、反馈、申请延期、退单"),
        NavItem("指挥长视图", "cases:desk_leader", frozenset({roles.LEADER}), order=40,
                description="全部案件查询，督办件与超期预警，督办、催办"),
        NavItem("案件查询", "cases:list", _CASE_ROLES, order=50,
                description="按状态、渠道、分类、街道、部门、时限筛选案件"),
        NavItem("消息通知", "cases:notifications", order=80, description="派遣、退单、延期、督办、超期等提醒"),
    ),
)
