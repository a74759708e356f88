"""Fast edges: commands start without the heavy libraries, `cityops serve` runs without the
reloader and warms up before it listens, a loaded demo is not loaded again, `make run`
installs only what the server needs."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command

from cityops.accounts.tests.factories import UserFactory
from cityops.web import demo
from cityops.web.management.commands.serve import Command as ServeCommand
from cityops.web.warmup import warm_up

ROOT = Path(__file__).resolve().parents[4]
HEAVY = ("sklearn", "scipy", "joblib", "jieba", "openpyxl", "holidays")


def test_starting_django_and_loading_every_url_imports_no_heavy_library(tmp_path):
    """What every `cityops` command pays before it does anything: settings, apps, URL map, checks."""
    probe = (
        "import sys, django; from cityops import cli; import os;"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings.local'); django.setup();"
        "from django.urls import get_resolver; get_resolver()._populate();"
        "from django.core import checks; checks.run_checks();"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    env.update(CITYOPS_VAR_DIR=str(tmp_path), PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]))
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_serve_runs_without_the_auto_reloader_unless_asked():
    parser = ServeCommand().create_parser("cityops", "serve")
    assert parser.parse_args([]).use_reloader is False
    assert parser.parse_args(["--reload"]).use_reloader is True
    assert parser.parse_args([]).warm_up is True


@pytest.mark.django_db
def test_warm_up_renders_the_first_pages_without_writing_anything(caplog):
    UserFactory(role="leader")
    UserFactory(role="dispatcher")
    sessions = Session.objects.count()
    with caplog.at_level("WARNING", logger="cityops.web.warmup"):
        timings = warm_up()
    assert {"urls", "templates", "/dashboard/ as leader"} <= set(timings)
    assert not caplog.records, [r.getMessage() for r in caplog.records]
    assert Session.objects.count() == sessions


@pytest.mark.django_db
def test_a_loaded_demo_is_skipped_at_once(monkeypatch):
    UserFactory(username="operator")  # password Demo-pass-123
    demo.demo_mark_loaded()
    monkeypatch.setenv("CITYOPS_DEMO_PASSWORD", "Demo-pass-123")
    out = StringIO()
    call_command("demo", stdout=out)
    assert "跳过" in out.getvalue()
    assert "行政区划" not in out.getvalue()  # no step ran


@pytest.mark.django_db
def test_the_demo_loads_again_when_the_password_changed():
    UserFactory(username="operator")  # password Demo-pass-123
    demo.demo_mark_loaded()
    assert demo.demo_loaded("Demo-pass-123")
    assert not demo.demo_loaded("Another-pass-456")


@pytest.mark.django_db
def test_the_demo_loads_again_when_its_data_changed(monkeypatch):
    UserFactory(username="operator")  # password Demo-pass-123
    demo.demo_mark_loaded()
    monkeypatch.setattr(demo, "demo_fingerprint", lambda: "a categories file changed")
    assert not demo.demo_loaded("Demo-pass-123")


@pytest.mark.django_db
def test_an_unloaded_database_is_not_taken_for_a_loaded_demo():
    assert not demo.demo_loaded(None)


def test_the_demo_fingerprint_covers_the_data_files_and_the_demo_code():
    files = {str(path.relative_to(demo.SRC_DIR)) for path in demo._fingerprint_files()}
    assert "web/management/commands/demo.py" in files and "desks/demo.py" in files
    assert any(name.startswith("catalog/data/") for name in files)


def _make_dry_run(target: str) -> str:
    out = subprocess.run(["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout


@pytest.mark.skipif(subprocess.run(["which", "make"], capture_output=True).returncode != 0, reason="no make")
def test_make_run_installs_only_the_runtime_dependencies_and_make_test_the_dev_tools():
    run, test = _make_dry_run("run"), _make_dry_run("test")
    assert "scripts/install.sh runtime" in run and "scripts/install.sh dev" not in run
    assert "scripts/install.sh dev" in test
    script = (ROOT / "scripts" / "install.sh").read_text()
    assert "--no-dev" in script


def test_cityops_run_migrates_loads_the_demo_and_serves_in_one_process(monkeypatch):
    from cityops.ops import scheduler
    from cityops.web.management.commands import run

    calls = []
    monkeypatch.setattr(run, "call_command", lambda name, **options: calls.append(name))
    monkeypatch.setattr(scheduler, "install", lambda argv=None, environ=None: calls.append(("scheduler", argv[1:])))
    run.Command().handle(addrport=None)
    assert calls == ["migrate", "demo", ("scheduler", ["serve"]), "serve"]
    assert "cityops run" in _make_dry_run("run")
