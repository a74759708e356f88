"""The cases app's lines of the role → permission table (see accounts.roles)."""

from cityops.accounts import roles

_CASE_VIEW = ["cases.view_case", "cases.view_caseevent", "cases.view_attachment"]

roles.ROLE_PERMISSIONS[roles.OPERATOR] += [*_CASE_VIEW, "cases.add_case", "cases.view_all_cases", "cases.view_personal_data"]
roles.ROLE_PERMISSIONS[roles.DISPATCHER] += [*_CASE_VIEW, "cases.view_all_cases", "cases.view_personal_data"]
roles.ROLE_PERMISSIONS[roles.LEADER] += [*_CASE_VIEW, "cases.view_all_cases"]
roles.ROLE_PERMISSIONS[roles.DEPARTMENT] += _CASE_VIEW
roles.ROLE_PERMISSIONS[roles.INSPECTOR] += [*_CASE_VIEW, "cases.add_case"]
roles.ROLE_PERMISSIONS[roles.SYSTEM] += [*_CASE_VIEW, "cases.add_case"]
roles.ROLE_PERMISSIONS[roles.AUDITOR] += ["cases.view_caseevent"]
