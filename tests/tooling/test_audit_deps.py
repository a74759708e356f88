"""Finding 9: `make audit` (scripts/audit_deps.py) must not pass when it audited nothing —
only an explicit offline waiver (AUDIT_OFFLINE_OK=1) lets that through, and says so."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("audit_deps", ROOT / "scripts" / "audit_deps.py")
audit_deps = importlib.util.module_from_spec(spec)
spec.loader.exec_module(audit_deps)

SKIPPED = {"skip_reason": "Dependency not found on PyPI and could not be audited: amqp (5.4.2)"}


def _fake_pip_audit(tmp_path: Path, monkeypatch, dependencies: list[dict]) -> None:
    """A stand-in for pip-audit that writes `dependencies` as its JSON report (-o PATH)."""
    script = tmp_path / "pip-audit"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        "out = sys.argv[sys.argv.index('-o') + 1]\n"
        f"json.dump({{'dependencies': {json.dumps(dependencies)}}}, open(out, 'w'))\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PIP_AUDIT", str(script))
    monkeypatch.delenv("AUDIT_OFFLINE_OK", raising=False)


def _packages(n: int, **extra) -> list[dict]:
    return [{"name": f"pkg{i}", "version": "1.0", "vulns": [], **extra} for i in range(n)]


def test_an_audit_that_checked_nothing_fails(tmp_path, monkeypatch, capsys):
    _fake_pip_audit(tmp_path, monkeypatch, _packages(3, **SKIPPED))
    assert audit_deps.main() == 2
    captured = capsys.readouterr()
    assert "0 of 3 locked packages audited" in captured.out
    assert "AUDIT_OFFLINE_OK=1" in captured.err


def test_a_partial_audit_fails_too(tmp_path, monkeypatch):
    _fake_pip_audit(tmp_path, monkeypatch, _packages(2) + _packages(1, **SKIPPED))
    assert audit_deps.main() == 2


def test_the_offline_waiver_passes_loudly(tmp_path, monkeypatch, capsys):
    _fake_pip_audit(tmp_path, monkeypatch, _packages(3, **SKIPPED))
    monkeypatch.setenv("AUDIT_OFFLINE_OK", "1")
    assert audit_deps.main() == 0
    captured = capsys.readouterr()
    assert "AUDIT WAIVED" in captured.out and "AUDIT WAIVED" in captured.err


@pytest.mark.parametrize("waiver", ["", "1"])
def test_a_known_vulnerability_fails_with_or_without_the_waiver(tmp_path, monkeypatch, capsys, waiver):
    vulnerable = {"name": "pkgv", "version": "0.1", "vulns": [{"id": "PYSEC-2099-1", "fix_versions": ["0.2"]}]}
    _fake_pip_audit(tmp_path, monkeypatch, [*_packages(2), vulnerable, *_packages(1, **SKIPPED)])
    monkeypatch.setenv("AUDIT_OFFLINE_OK", waiver)
    assert audit_deps.main() == 1
    assert "VULNERABLE pkgv 0.1: PYSEC-2099-1" in capsys.readouterr().out


def test_a_complete_clean_audit_passes(tmp_path, monkeypatch, capsys):
    _fake_pip_audit(tmp_path, monkeypatch, _packages(4))
    assert audit_deps.main() == 0
    assert "4 of 4 locked packages audited, 0 vulnerable" in capsys.readouterr().out
