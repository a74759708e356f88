"""The architecture contracts ([tool.importlinter] in pyproject.toml, run by `lint-imports` in
`make lint` and .ci/run) catch a forbidden import: each test copies the project's Python files to
a temporary directory, adds one import there and runs `lint-imports` with the project's own
configuration on the copy. The copy without the added import is the baseline, so the tests hold
whatever the state of the real tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of src/cityops (Python files only) and pyproject.toml."""
    shutil.copytree(
        ROOT / "src" / "cityops",
        tmp_path / "src" / "cityops",
        ignore=lambda directory, names: [
            name for name in names if not name.endswith(".py") and not (Path(directory) / name).is_dir()
        ],
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(tree / "pyproject.toml")],
        cwd=tree, env=env, capture_output=True, text=True, timeout=120,
    )


def add_line(tree: Path, module: str, line: str) -> None:
    path = tree / "src" / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text(encoding="utf-8") + "\n\n" + line + "\n", encoding="utf-8")


def test_a_function_local_import_of_routing_in_cases_fails_lint_imports(tree):
    expected = "cityops.cases.workflow -> cityops.routing.models"
    assert expected not in lint_imports(tree).stdout

    add_line(tree, "cityops.cases.workflow", "def _added():\n    from cityops.routing import models  # noqa: F401")
    result = lint_imports(tree)

    assert result.returncode != 0
    assert expected in result.stdout
    assert "cases is the pure domain" in result.stdout


def test_cases_importing_the_desks_fails_lint_imports(tree):
    expected = "cityops.cases.selectors -> cityops.desks"
    assert expected not in lint_imports(tree).stdout

    add_line(tree, "cityops.cases.selectors", "import cityops.desks  # noqa: E402,F401")
    result = lint_imports(tree)

    assert result.returncode != 0
    assert expected in result.stdout


def test_a_base_app_importing_cases_breaks_the_layers(tree):
    expected = "cityops.catalog.models -> cityops.cases.models"
    assert expected not in lint_imports(tree).stdout

    add_line(tree, "cityops.catalog.models", "from cityops.cases import models as _cases  # noqa: E402,F401")
    result = lint_imports(tree)

    assert result.returncode != 0
    assert "cityops.catalog is not allowed to import cityops.cases" in result.stdout
    assert expected in result.stdout


def test_common_importing_an_app_breaks_the_layers(tree):
    add_line(tree, "cityops.common.refcache", "def _added():\n    from cityops.geo import models  # noqa: F401")
    result = lint_imports(tree)

    assert result.returncode != 0
    assert "cityops.common.refcache -> cityops.geo.models" in result.stdout


def test_a_new_app_outside_every_layer_fails_lint_imports(tree):
    (tree / "src" / "cityops" / "newapp").mkdir()
    (tree / "src" / "cityops" / "newapp" / "__init__.py").write_text("")
    result = lint_imports(tree)

    assert result.returncode != 0
    assert "The following modules are not listed as layers" in result.stdout
    assert "- cityops.newapp" in result.stdout


def test_application_code_importing_the_test_support_package_fails_lint_imports(tree):
    expected = "cityops.desks.views -> cityops.testing.square"
    assert expected not in lint_imports(tree).stdout

    add_line(tree, "cityops.desks.views", "def _added():\n    from cityops.testing import square  # noqa: F401")
    result = lint_imports(tree)

    assert result.returncode != 0
    assert "Application code never imports the test-support package" in result.stdout
    assert expected in result.stdout
