"""Writes src/cityops/locale/en/LC_MESSAGES/django.po from the table below and compiles it.

The UI's msgids are Chinese (the users' language); this table gives the English of the shell,
the roles and the navigation. Run: .venv/bin/python scripts/build_en_locale.py
"""

import subprocess
from pathlib import Path

EN = {
    "城运·一网统管": "CityOps",
    "城东区城市运行指挥中心": "Chengdong District City Operations Center",
    "城东区城市运行指挥中心 · 一网统管平台": "Chengdong District City Operations Center · unified platform",
    "开源城市运行管理平台": "open-source city operations platform",
    "主导航": "Main navigation",
    "消息通知": "Notifications",
    "退出": "Sign out",
    "用户登录": "Sign in",
    "登录": "Sign in",
    "用户名": "Username",
    "密码": "Password",
    "市民反映问题无需登录：": "Citizens need no account to report:",
    "我要反映": "Report a problem",
    "账号已锁定": "Account locked",
    "登录失败次数过多": "Too many failed sign-ins",
    "为保护账号安全，该账号或来源地址已被临时锁定，请 %(minutes)s 分钟后再试，或联系系统管理员。":
        "To protect the account, it or your address has been locked for a while. Try again in %(minutes)s minutes or ask the system administrator.",
    "返回登录": "Back to sign-in",
    "首页": "Home",
    "您好，%(name)s": "Hello, %(name)s",
    "您的账号尚未分配角色，请联系安全管理员。": "Your account has no role yet; please ask the security administrator.",
    "所属部门：": "Department: ",
    "我的工作台": "My desks",
    "暂无可用的工作台。": "No desk available.",
    "Simplified Chinese": "Simplified Chinese",
    "English": "English",
    # roles
    "受理员": "Operator", "派遣员/值班长": "Dispatcher / shift lead", "部门处置人员": "Department handler",
    "网格员/监督员": "Grid inspector", "指挥长/领导": "Leader", "系统管理员": "System administrator",
    "安全管理员": "Security administrator", "审计管理员": "Audit administrator", "外部系统": "External system",
    "受理来电来件，立案、不予立案、直接答复、合并重复件，回访": "Take in reports; register, reject, answer, merge duplicates; call back",
    "派遣案件，审批延期和挂账，核查结案，督办催办": "Dispatch cases, decide extensions and suspensions, verify and close, supervise",
    "签收、处置、反馈、申请延期、退单（仅本部门案件）": "Sign, handle, respond, ask for extensions, return (own department's cases only)",
    "巡查上报，现场核查（仅负责网格）": "Patrol and report, verify on site (own grids only)",
    "查看全部案件与统计，督办、催办": "See all cases and statistics; supervise and urge",
    "管理用户账号与基础数据配置，不能查看审计日志、不能分配权限": "Manage accounts and reference data; cannot read the audit trail or grant permissions",
    "管理角色与权限策略，不能管理基础数据与审计日志": "Manage roles and permission policies; not reference data or the audit trail",
    "只读查看审计日志": "Read the audit trail",
    "通过 API 密钥接入的外部系统": "Systems connected with an API key",
    # navigation
    "受理台": "Intake desk", "派遣台": "Dispatch desk", "处置台": "Department desk", "指挥长视图": "Leader view",
    "案件查询": "Cases", "网格员上报": "Inspector", "态势看板": "Dashboard", "指挥大屏": "Big screen",
    "分析报告": "Reports",
    "周报、月报：XLSX 工作簿与可打印的报告（概况、分类、街道、部门、超期、热点、排名）":
        "Weekly and monthly reports: XLSX workbook and printable report (summary, categories, streets, departments, overdue, hot issues, rankings)",
    "考核排名": "Assessment", "绩效目标": "Targets", "管理后台": "Administration",
    "基础数据、用户与权限、审计日志": "Reference data, users and permissions, audit trail",
    "派遣、退单、延期、督办、超期等提醒": "Dispatches, returns, extensions, supervision and overdue alerts",
    "热线受理登记，待受理案件立案、不予立案、直接答复、合并，回访": "Hotline intake; register, reject, answer or merge new cases; call back",
    "按权责清单派遣，延期审批，挂账，核查结案，超期看板": "Dispatch by the responsibility list, extensions, suspensions, verification, overdue board",
    "本部门待签收、处置中案件：签收、反馈、申请延期、退单": "Your department's cases: sign, respond, extend, return",
    "全部案件查询，督办件与超期预警，督办、催办": "All cases, supervised and overdue lists; supervise and urge",
    "按状态、渠道、分类、街道、部门、时限筛选案件": "Filter cases by state, channel, category, street, department, deadline",
    "手机巡查上报（拍照、定位），现场核查已反馈案件": "Report from the phone with photo and GPS; verify responded cases",
    "今日/本周/本月案件量、趋势、时限、超期、热点与异常、满意度，图表可点开案件": "Volumes, trends, deadlines, hot spots, anomalies and satisfaction",
    "1920×1080 深色大屏：地图、今日数据、实时案件、超期告警、中心绩效目标": "1920×1080 wall screen: map, today's figures, live cases, overdue alarms, targets",
    "部门、街道、网格员、受理员、派遣员月度考核：指标、综合得分、等级、环比": "Monthly assessment of departments, streets and staff: indicators, scores, grades",
    "中心年度绩效目标的实时完成情况与人工填报": "The center's yearly performance targets, live and manual",
}


def escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def main() -> None:
    out = Path(__file__).resolve().parents[1] / "src/cityops/locale/en/LC_MESSAGES"
    out.mkdir(parents=True, exist_ok=True)
    lines = ['msgid ""', 'msgstr ""', '"Content-Type: text/plain; charset=UTF-8\\n"', '"Language: en\\n"', ""]
    for msgid, msgstr in EN.items():
        lines += [f'msgid "{escape(msgid)}"', f'msgstr "{escape(msgstr)}"', ""]
    (out / "django.po").write_text("\n".join(lines), encoding="utf-8")
    subprocess.run(["msgfmt", "-o", str(out / "django.mo"), str(out / "django.po")], check=True)


if __name__ == "__main__":
    main()
