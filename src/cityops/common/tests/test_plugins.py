"""One declarative way to plug in (`cityops.common.plugins`): navigation, role permissions,
periodic jobs and hooks declared by each app, collected in one registry."""

from __future__ import annotations

import pytest

from cityops.accounts import roles

# The menu of each role as it was before the registry (navigation read from a list the apps
# appended to in their ready()): (label, path) in menu order.
EXPECTED_NAV: dict[str, list[tuple[str, str]]] = {
    roles.OPERATOR: [
        ("首页", "/"), ("受理台", "/desk/operator/"), ("案件查询", "/cases/"), ("批量导入", "/import/"),
        ("态势看板", "/dashboard/"), ("指挥大屏", "/bigscreen/"), ("消息通知", "/notifications/"),
    ],
    roles.DISPATCHER: [
        ("首页", "/"), ("派遣台", "/desk/dispatcher/"), ("案件查询", "/cases/"), ("态势看板", "/dashboard/"),
        ("考核排名", "/assessment/"), ("指挥大屏", "/bigscreen/"), ("绩效目标", "/targets/"),
        ("分析报告", "/reports/"), ("消息通知", "/notifications/"),
    ],
    roles.DEPARTMENT: [("首页", "/"), ("处置台", "/desk/department/"), ("案件查询", "/cases/"), ("消息通知", "/notifications/")],
    roles.INSPECTOR: [("首页", "/"), ("网格员上报", "/m/"), ("案件查询", "/cases/"), ("消息通知", "/notifications/")],
    roles.LEADER: [
        ("首页", "/"), ("指挥长视图", "/desk/leader/"), ("案件查询", "/cases/"), ("态势看板", "/dashboard/"),
        ("考核排名", "/assessment/"), ("指挥大屏", "/bigscreen/"), ("绩效目标", "/targets/"),
        ("分析报告", "/reports/"), ("消息通知", "/notifications/"),
    ],
    roles.SYSADMIN: [("首页", "/"), ("消息通知", "/notifications/"), ("管理后台", "/admin/")],
    roles.SECADMIN: [("首页", "/"), ("消息通知", "/notifications/"), ("管理后台", "/admin/")],
    roles.AUDITOR: [("首页", "/"), ("消息通知", "/notifications/"), ("审计日志", "/audit/"), ("管理后台", "/admin/")],
    roles.SYSTEM: [("首页", "/"), ("消息通知", "/notifications/")],
}


def test_the_expected_menu_names_every_role():
    assert set(EXPECTED_NAV) == set(roles.ROLES)


@pytest.mark.django_db
@pytest.mark.parametrize("role", sorted(EXPECTED_NAV))
def test_each_roles_menu_is_unchanged(role):
    from cityops.accounts.tests.factories import UserFactory
    from cityops.web.navigation import nav_for

    user = UserFactory(role=role)
    assert [(item["label"], item["url"]) for item in nav_for(user)] == EXPECTED_NAV[role]


# ---------------------------------------------------------------- jobs


@pytest.mark.django_db
def test_every_declared_job_resolves_to_a_callable_and_runs():
    from cityops.ops.models import JobRun
    from cityops.ops.scheduler import periodic_jobs, run_periodic

    jobs = periodic_jobs()
    assert {job.name for job in jobs} == {"fanout", "sla_scan", "sla_escalate", "webhooks", "rollups", "reports", "retrain", "privacy"}
    for job in jobs:
        assert callable(job.func), job.name
        assert isinstance(run_periodic(job.name), dict), job.name
        assert JobRun.objects.get(name=job.name).last_status == "ok", job.name


def test_each_job_is_declared_by_the_app_that_owns_the_work():
    from cityops.common import plugins

    owners = {job.name: label for label, plugin in plugins.registry().plugins for job in plugin.jobs}
    assert owners == {
        "fanout": "cases", "sla_scan": "cases", "privacy": "cases", "retrain": "routing", "webhooks": "api",
        "rollups": "analytics", "reports": "analytics", "sla_escalate": "ops",
    }


def test_two_apps_declaring_one_job_name_are_refused():
    from cityops.common.plugins import ImproperlyDeclared, Job, Plugin, Registry

    twice = Registry((("a", Plugin(jobs=(Job("x", dict, "S", 1),))), ("b", Plugin(jobs=(Job("x", dict, "S", 1),)))))
    with pytest.raises(ImproperlyDeclared, match="x"):
        twice.jobs()


def test_a_plugin_method_that_returns_no_plugin_is_refused(monkeypatch):
    from django.apps import apps

    from cityops.common import plugins

    config = apps.get_app_config("web")
    monkeypatch.setattr(config, "plugin", lambda: {"nav": []})
    with pytest.raises(plugins.ImproperlyDeclared, match="web"):
        plugins.collect()


# ---------------------------------------------------------------- roles


@pytest.mark.django_db
def test_every_roles_permissions_exist_as_permission_rows_after_migrate():
    from django.contrib.auth.models import Permission

    existing = {f"{app}.{codename}" for app, codename in Permission.objects.values_list("content_type__app_label", "codename")}
    for code in roles.ROLES:
        missing = set(roles.ROLE_PERMISSIONS[code]) - existing
        assert not missing, f"{code}: {sorted(missing)}"


def test_apps_only_extend_roles_that_roles_py_defines():
    assert roles.undefined_roles() == []
    assert list(roles.ROLE_PERMISSIONS) == list(roles.ROLES)


def test_the_role_table_is_the_base_plus_the_declared_lines():
    assert roles.ROLE_PERMISSIONS[roles.AUDITOR][0] == "admin.view_logentry"  # the base table first
    assert {"audit.view_auditentry", "cases.view_caseevent", "api.view_apicalllog"} <= set(roles.ROLE_PERMISSIONS[roles.AUDITOR])
    with pytest.raises(KeyError):
        roles.ROLE_PERMISSIONS["nobody"]


def test_the_role_table_cannot_be_appended_to_from_outside():
    with pytest.raises(TypeError):
        roles.ROLE_PERMISSIONS[roles.AUDITOR] = []  # type: ignore[index]


# ---------------------------------------------------------------- hooks


def test_the_targets_status_hook_is_the_assessment_apps():
    from cityops.analytics.selectors import _assessment_targets_status
    from cityops.assessment.targets import targets_status

    assert _assessment_targets_status() is targets_status


def test_no_job_or_hook_is_resolved_from_a_dotted_string():
    from pathlib import Path

    import cityops

    root = Path(cityops.__file__).parent
    # Loading the configured session engine is Django's own pattern; importlib.metadata reads versions.
    allowed = {"accounts/sessions.py", "accounts/services.py", "ops/backup.py"}
    offenders = [
        str(path.relative_to(root)) for path in root.rglob("*.py")
        if "tests" not in path.parts and "migrations" not in path.parts
        and str(path.relative_to(root)) not in allowed and ("importlib" in path.read_text() or "import_module" in path.read_text())
    ]
    assert offenders == []


# ---------------------------------------------------------------- a new app plugs in by itself


@pytest.fixture
def plugin_app(settings):
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "cityops.common.tests.plugin_app.apps.PluginAppConfig"]
    yield


@pytest.mark.django_db
def test_an_app_adds_a_menu_entry_a_permission_a_job_and_a_hook_without_editing_another_app(plugin_app):
    from cityops.accounts.tests.factories import UserFactory
    from cityops.common import plugins
    from cityops.ops.scheduler import beat_schedule, run_periodic
    from cityops.web.navigation import nav_for

    assert "cases.add_case" in roles.ROLE_PERMISSIONS[roles.DEPARTMENT]
    labels = [item["label"] for item in nav_for(UserFactory(role=roles.DEPARTMENT))]
    assert labels == ["首页", "处置台", "额外页面", "案件查询", "消息通知"]
    assert beat_schedule()["extra"] == {"task": "cityops.extra", "schedule": 42.0, "options": {}}
    assert run_periodic("extra")["extra"] == 1
    assert [hook() for hook in plugins.hooks("extra")] == ["extra"]


def test_the_registry_forgets_an_app_that_is_no_longer_installed():
    from cityops.common import plugins

    assert plugins.hooks("extra") == ()
    assert "额外页面" not in [item.label for item in plugins.nav_items()]
