"""docs/architecture.md stays true: its app list is the project's installed apps, and its
dependency picture is the one `make graph` (scripts/deps_graph.py) generates from the code."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
spec = importlib.util.spec_from_file_location("deps_graph", ROOT / "scripts" / "deps_graph.py")
deps_graph = importlib.util.module_from_spec(spec)
spec.loader.exec_module(deps_graph)


def documented_apps() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Apps", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE)


def test_the_doc_lists_every_installed_cityops_app_once():
    installed = [name.split(".")[1] for name in settings.INSTALLED_APPS if name.startswith("cityops.")]
    documented = documented_apps()

    assert len(documented) == len(set(documented))
    assert sorted(documented) == sorted(installed)


def test_the_dependency_graph_in_the_doc_is_up_to_date():
    doc = DOC.read_text(encoding="utf-8")

    assert deps_graph.rendered(doc) == doc, "run `make graph`"


def test_the_graph_counts_function_local_and_package_imports():
    tree = ast.parse(
        "from cityops.cases.models import Case\n"
        "def f():\n    from cityops.routing import services\n"
        "import cityops.geo.lookup\n"
        "from cityops import audit\n"
        "from . import sibling\n"
    )

    assert deps_graph._imported_apps(tree, {"cases", "routing", "geo", "audit", "web"}) == {
        "cases", "routing", "geo", "audit",
    }


def test_every_app_directory_is_in_the_graph():
    graph = deps_graph.mermaid()

    for app in deps_graph.apps():
        assert re.search(rf"^\s+{app}$", graph, flags=re.MULTILINE), app
