"""Label names ↔ category codes: the model's classes are catalog category codes (H01…H07).

Training CSVs carry the 12345 一级分类 names (城乡建设, 劳动和社会保障…); they are mapped by
name to the hotline categories of the catalog, from the database when it is loaded and from
the catalog's shipped reference file otherwise (the benchmark must run on an empty database).
"""

from __future__ import annotations

import contextlib
import json
from functools import lru_cache
from pathlib import Path

from cityops.catalog.models import Category, CategorySystem

_REFERENCE = Path(__file__).resolve().parent.parent / "catalog" / "data" / "hotline_categories.json"


@lru_cache(maxsize=1)
def _reference_top_level() -> dict[str, str]:
    try:
        data = json.loads(_REFERENCE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {node["name"]: node["code"] for node in data.get("categories", [])}


def hotline_label_map() -> dict[str, str]:
    """一级分类 name → code, e.g. {"城乡建设": "H01", …} (database first, shipped file as fallback)."""
    mapping = dict(_reference_top_level())
    try:
        rows = Category.objects.filter(system=CategorySystem.HOTLINE, parent__isnull=True).values_list("name", "code")
        mapping.update(dict(rows))
    except Exception:  # no database (e.g. a bare benchmark run): the shipped file is enough
        pass
    return mapping


def category_names(codes) -> dict[str, str]:
    """code → name for display, for codes that exist (database first, then the shipped file)."""
    names = {code: name for name, code in _reference_top_level().items()}
    with contextlib.suppress(Exception):
        names.update(dict(Category.objects.filter(code__in=list(codes)).values_list("code", "name")))
    return {code: names.get(code, code) for code in codes}
