"""The tests' own support (issue 15): fixtures used by more than one app live once in
`cityops.testing.fixtures`, no test module imports another test module or a conftest, and the
shared data folder comes from one setting."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from _pytest.outcomes import Skipped

from cityops.testing import shared_data

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "src" / "cityops" / "testing" / "fixtures.py"
# Fixtures that a conftest may define again on purpose, with a different meaning for its tests.
LOCAL_OVERRIDES = {
    "district": {"src/cityops/analytics/tests/conftest.py", "tests/e2e/conftest.py"},  # two streets; the demo street
}


def support_files() -> list[Path]:
    roots = [ROOT / "tests", ROOT / "src" / "cityops", ROOT / "conftest.py"]
    files: list[Path] = []
    for root in roots:
        files += [root] if root.is_file() else sorted(root.rglob("*.py"))
    return [f for f in files if "tests" in f.relative_to(ROOT).parts or f.name == "conftest.py" or "testing" in f.parts]


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in the file, relative ones resolved against its package."""
    package = ".".join(path.relative_to(ROOT / "src" if "src" in path.relative_to(ROOT).parts[:1] else ROOT).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def forbidden_imports(files: list[Path]) -> list[str]:
    bad = []
    for path in files:
        for line, module in imported_modules(path):
            last = module.rsplit(".", 1)[-1]
            if last.startswith("test_") or last == "conftest":
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return bad


def test_no_test_module_imports_another_test_module_or_a_conftest():
    bad = forbidden_imports(support_files())
    assert not bad, "move what is shared to cityops.testing (or a non-test module of the app's tests):\n" + "\n".join(bad)


def test_the_import_check_finds_a_test_module_that_imports_another(tmp_path, monkeypatch):
    package = tmp_path / "src" / "cityops" / "demo" / "tests"
    package.mkdir(parents=True)
    (package / "test_a.py").write_text("from cityops.demo.tests.test_b import helper\nfrom .conftest import X\n", encoding="utf-8")
    (package / "test_c.py").write_text("from cityops.demo.tests.support import helper\n", encoding="utf-8")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    bad = forbidden_imports(sorted(package.glob("*.py")))
    assert bad == ["src/cityops/demo/tests/test_a.py:1 imports cityops.demo.tests.test_b",
                   "src/cityops/demo/tests/test_a.py:2 imports cityops.demo.tests.conftest"]


def fixtures_defined(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)
            and any("fixture" in ast.unparse(d) for d in node.decorator_list)}


def test_no_fixture_is_copied_into_two_conftests_or_beside_the_shared_plugin():
    owners: dict[str, set[str]] = {name: {"<plugin>"} for name in fixtures_defined(PLUGIN)}
    for conftest in sorted(ROOT.glob("**/conftest.py")):
        if ".venv" in conftest.parts:
            continue
        for name in fixtures_defined(conftest):
            owners.setdefault(name, set()).add(str(conftest.relative_to(ROOT)))
    copied = {name: where for name, where in owners.items()
              if len(where - LOCAL_OVERRIDES.get(name, set())) > 1}
    assert not copied, f"define a shared fixture once, in cityops/testing/fixtures.py: {copied}"


def test_the_shared_data_folder_comes_from_the_setting(settings, tmp_path):
    settings.CITYOPS_SHARED_DATA_DIR = tmp_path
    (tmp_path / "complaints").mkdir()
    (tmp_path / "complaints" / "taxonomy.csv").write_text("一级分类\n", encoding="utf-8")
    assert shared_data.require_shared("complaints", "taxonomy.csv") == tmp_path / "complaints" / "taxonomy.csv"


def test_an_absent_shared_data_file_skips_the_test_and_names_the_setting(settings, tmp_path):
    settings.CITYOPS_SHARED_DATA_DIR = tmp_path / "nowhere"
    with pytest.raises(Skipped, match="CITYOPS_SHARED_DATA_DIR"):
        shared_data.require_shared("complaints", "taxonomy.csv")
    mark = shared_data.needs_shared("geo")
    assert mark.args == (True,) and "CITYOPS_SHARED_DATA_DIR" in mark.kwargs["reason"]


def test_no_test_reads_the_shared_data_folder_by_a_path_of_its_own():
    spelled = []
    for path in support_files() + sorted((ROOT / "benchmarks").glob("*.py")):
        if path.parent.name == "testing":
            continue
        text = path.read_text(encoding="utf-8")
        if path != Path(__file__) and ('"shared" / "data"' in text or "shared/data/" in text.replace("../shared/data", "")):
            spelled.append(str(path.relative_to(ROOT)))
    assert not spelled, f"read the shared data through cityops.testing.shared_data: {spelled}"
