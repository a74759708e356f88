"""Every project setting is declared once (config/settings/environment.py), read from the
environment with its type, refused with a message naming the variable when it does not parse,
and documented in docs/deploy.md from that one table."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from config.settings import environment
from config.settings.environment import (
    BOOL,
    COMMAND_VARIABLES,
    DEPLOY_DOC,
    FLOAT,
    INT,
    JSON,
    LIST,
    MINUTES,
    PATH,
    SECRET,
    SETTINGS,
    STR,
    Setting,
    load,
    with_documentation,
)

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
CITYOPS_NAME = re.compile(r"CITYOPS_[A-Z0-9_]+")

# The typed value each kind must give for a string, spelled out here rather than computed by
# the parser under test.
EXPECTED_BY_KIND = {
    INT: int,
    FLOAT: float,
    BOOL: lambda raw: raw.lower() in {"1", "true", "yes", "on"},
    LIST: lambda raw: [item.strip() for item in raw.split(",") if item.strip()],
    JSON: json.loads,
    MINUTES: lambda raw: timedelta(minutes=int(raw)),
    PATH: Path,
    STR: str,
    SECRET: str,
}
# Settings whose value is reshaped after parsing.
EXPECTED_BY_NAME = {
    "CITYOPS_OFFICE_HOURS": [("09:00", "12:00"), ("13:30", "17:30")],
    "AUDIT_RETENTION_DAYS": 365,
}


def _expected(setting: Setting):
    if setting.name in EXPECTED_BY_NAME:
        return EXPECTED_BY_NAME[setting.name]
    return EXPECTED_BY_KIND[setting.kind](setting.example)


def _examples() -> dict[str, str]:
    return {setting.variable: setting.example for setting in SETTINGS}


def _clean_environ(**extra: str) -> dict[str, str]:
    declared = {setting.variable for setting in SETTINGS} | {f"{s.variable}_FILE" for s in SETTINGS if s.kind is SECRET}
    env = {key: value for key, value in os.environ.items() if key not in declared and key != "DJANGO_SETTINGS_MODULE"}
    return {**env, **extra}


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.variable)
def test_each_declared_setting_is_read_from_its_environment_variable(setting):
    default = load({})[setting.name]
    value = load({setting.variable: setting.example})[setting.name]
    assert value == _expected(setting)
    assert value != default, f"{setting.variable}'s example must differ from its default"


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.variable)
def test_each_declared_setting_has_a_type_a_doc_and_a_documented_default(setting):
    assert setting.doc.strip() and setting.kind in EXPECTED_BY_KIND
    assert setting.shown_default() != ""


def test_names_and_variables_are_declared_once():
    assert len({s.name for s in SETTINGS}) == len(SETTINGS)
    assert len({s.variable for s in SETTINGS}) == len(SETTINGS)


def test_an_empty_variable_keeps_the_default():
    assert load({"CITYOPS_MAX_UPLOAD_MB": "", "CITYOPS_SINGLE_SESSION": " "}) == load({})


def test_production_defaults_differ_only_where_declared():
    base, production = load({}), load({}, profile="production")
    differing = {name for name in base if base[name] != production[name]}
    assert differing == {"OTP_REQUIRED_ROLES", "CITYOPS_OTP_ENROLMENT_CODE_FOR_ALL", "CITYOPS_EVENT_FANOUT", "CITYOPS_FANOUT_SECONDS"}
    assert production["OTP_REQUIRED_ROLES"] == ["sysadmin", "secadmin", "auditor", "leader"]


def test_the_fanout_interval_follows_the_fanout_mode_unless_set():
    assert load({"CITYOPS_EVENT_FANOUT": "deferred"})["CITYOPS_FANOUT_SECONDS"] == 1.0
    assert load({})["CITYOPS_FANOUT_SECONDS"] == 60.0
    assert load({"CITYOPS_EVENT_FANOUT": "deferred", "CITYOPS_FANOUT_SECONDS": "3"})["CITYOPS_FANOUT_SECONDS"] == 3.0


def test_the_in_process_scheduler_is_off_with_redis_unless_set():
    assert load({})["CITYOPS_INPROCESS_SCHEDULER"] is True
    assert load({"REDIS_URL": "redis://r:6379/0"})["CITYOPS_INPROCESS_SCHEDULER"] is False
    assert load({"REDIS_URL": "redis://r:6379/0", "CITYOPS_INPROCESS_SCHEDULER": "1"})["CITYOPS_INPROCESS_SCHEDULER"] is True


def test_the_report_dir_defaults_under_the_var_dir():
    assert load({"CITYOPS_VAR_DIR": "/srv/x"})["CITYOPS_REPORT_DIR"] == Path("/srv/x/reports")


def test_none_means_no_second_factor_role():
    assert load({"OTP_REQUIRED_ROLES": "none"}, profile="production")["OTP_REQUIRED_ROLES"] == []


def test_a_secret_is_read_from_the_file_its_file_variable_names(tmp_path):
    key = tmp_path / "audit.key"
    key.write_text("k" * 40 + "\n", encoding="utf-8")
    assert load({"CITYOPS_AUDIT_HMAC_KEY_FILE": str(key)})["CITYOPS_AUDIT_HMAC_KEY"] == "k" * 40


def test_an_unreadable_secret_file_is_refused_naming_the_variable(tmp_path):
    with pytest.raises(ImproperlyConfigured, match="CITYOPS_AUDIT_HMAC_KEY_FILE="):
        load({"CITYOPS_AUDIT_HMAC_KEY_FILE": str(tmp_path / "missing")})


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("CITYOPS_MAX_UPLOAD_MB", "ten"),
        ("CITYOPS_MAX_UPLOAD_MB", "1.5"),
        ("CITYOPS_ALARM_DEDUPE_MINUTES", "half an hour"),
        ("CITYOPS_SINGLE_SESSION", "maybe"),
        ("CITYOPS_RATE_LIMITS", "report=5/m"),
        ("CITYOPS_RATE_LIMITS", '["report"]'),
        ("AXES_COOLOFF_MINUTES", "15m"),
        ("CITYOPS_OFFICE_HOURS", "08:30"),
    ],
)
def test_a_value_that_does_not_parse_is_refused_naming_the_variable(variable, raw):
    with pytest.raises(ImproperlyConfigured) as refused:
        load({variable: raw})
    assert str(refused.value).startswith(f"{variable}={raw!r}: expected ")


def _settings_in_subprocess(module: str, names: list[str], **env: str) -> subprocess.CompletedProcess:
    code = (
        "import json, importlib; from pathlib import Path; from datetime import timedelta\n"
        f"m = importlib.import_module({module!r})\n"
        "def plain(v):\n"
        "    if isinstance(v, Path): return str(v)\n"
        "    if isinstance(v, timedelta): return v.total_seconds()\n"
        "    if isinstance(v, (list, tuple)): return [plain(i) for i in v]\n"
        "    return v\n"
        f"print(json.dumps({{n: plain(getattr(m, n)) for n in {names!r}}}))\n"
    )
    return subprocess.run([PYTHON, "-c", code], cwd=ROOT, env=_clean_environ(**env), capture_output=True, text=True, timeout=120)


def _plain(value):
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def test_the_base_settings_module_takes_every_declared_setting_from_the_environment():
    names = [setting.name for setting in SETTINGS]
    result = _settings_in_subprocess("config.settings.base", names, **_examples())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {setting.name: _plain(_expected(setting)) for setting in SETTINGS}


def test_the_production_settings_module_has_the_production_defaults(tmp_path):
    names = ["OTP_REQUIRED_ROLES", "CITYOPS_OTP_ENROLMENT_CODE_FOR_ALL", "CITYOPS_EVENT_FANOUT", "CITYOPS_FANOUT_SECONDS", "CITYOPS_MAX_UPLOAD_MB"]
    result = _settings_in_subprocess(
        "config.settings.production", names,
        SECRET_KEY="s" * 60, CITYOPS_AUDIT_HMAC_KEY="a" * 40, CITYOPS_VAR_DIR=str(tmp_path), CITYOPS_MAX_UPLOAD_MB="20",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "OTP_REQUIRED_ROLES": ["sysadmin", "secadmin", "auditor", "leader"],
        "CITYOPS_OTP_ENROLMENT_CODE_FOR_ALL": True,
        "CITYOPS_EVENT_FANOUT": "deferred",
        "CITYOPS_FANOUT_SECONDS": 1.0,
        "CITYOPS_MAX_UPLOAD_MB": 20,
    }


def test_cityops_refuses_to_start_with_a_bad_value_naming_the_variable_without_a_traceback(tmp_path):
    result = subprocess.run(
        [str(Path(PYTHON).parent / "cityops"), "check"], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env=_clean_environ(CITYOPS_VAR_DIR=str(tmp_path), CITYOPS_MAX_UPLOAD_MB="ten"),
    )
    assert result.returncode != 0
    assert "CITYOPS_MAX_UPLOAD_MB='ten': expected a whole number" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_deploy_doc_settings_table_is_the_generated_one():
    text = DEPLOY_DOC.read_text(encoding="utf-8")
    assert with_documentation(text) == text, "docs/deploy.md is out of date: run `cityops settings_doc`"


def test_a_setting_added_without_regenerating_the_doc_fails_the_doc_check(monkeypatch):
    extra = replace(SETTINGS[0], name="CITYOPS_SOMETHING_NEW", env="", example="1")
    monkeypatch.setattr(environment, "SETTINGS", (*SETTINGS, extra))
    text = DEPLOY_DOC.read_text(encoding="utf-8")
    assert "CITYOPS_SOMETHING_NEW" in with_documentation(text) and with_documentation(text) != text


def test_the_settings_doc_command_checks_the_doc(capsys):
    call_command("settings_doc", "--check")
    assert "一致" in capsys.readouterr().out


def _known(name: str) -> bool:
    declared = {setting.variable for setting in SETTINGS} | set(COMMAND_VARIABLES)
    if name in declared:
        return True
    # "CITYOPS_PASSWORD_MIN_LENGTH / _MIN_CLASSES"; "CITYOPS_INITIAL_PASSWORD_<USERNAME>"
    prefixes = [known for known in COMMAND_VARIABLES if known.endswith("_")]
    return (name.endswith("_") and any(known.startswith(name) for known in declared)) or any(name.startswith(p) for p in prefixes)


def test_every_cityops_variable_the_docs_name_is_declared():
    pages = [*ROOT.glob("docs/*.md"), ROOT / "README.md", *ROOT.glob("src/cityops/*/README.md")]
    named = {(page.relative_to(ROOT).as_posix(), name) for page in pages for name in CITYOPS_NAME.findall(page.read_text(encoding="utf-8"))}
    assert sorted((page, name) for page, name in named if not _known(name)) == []


def test_every_cityops_setting_the_code_reads_is_declared():
    files = [*ROOT.glob("config/**/*.py"), *(p for p in ROOT.glob("src/cityops/**/*.py") if "tests" not in p.parts)]
    read = {
        (path.relative_to(ROOT).as_posix(), name)
        for path in files
        for name in CITYOPS_NAME.findall(path.read_text(encoding="utf-8"))
    }
    assert sorted((path, name) for path, name in read if not _known(name)) == []


# Launchers that run before any settings module is loaded.
READS_ENVIRONMENT_BEFORE_SETTINGS = {"src/cityops/ops/run_prod.py"}


def test_no_code_gives_a_declared_setting_a_second_default():
    declared = {setting.name for setting in SETTINGS}
    variables = {setting.variable for setting in SETTINGS}
    second_default = re.compile(r'getattr\(\s*(?:django_)?settings,\s*"([A-Z0-9_]+)",')
    from_environment = re.compile(r'os\.environ(?:\.get\(|\[)\s*"([A-Z0-9_]+)"')
    found = []
    for path in (*ROOT.glob("src/cityops/**/*.py"), *ROOT.glob("config/**/*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if "tests" in path.parts or relative == "config/settings/environment.py":
            continue
        text = path.read_text(encoding="utf-8")
        found += [(relative, name) for name in second_default.findall(text) if name in declared]
        if relative not in READS_ENVIRONMENT_BEFORE_SETTINGS:
            found += [(relative, name) for name in from_environment.findall(text) if name in variables]
    assert found == []
