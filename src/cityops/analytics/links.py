"""Links from every figure to the case list behind it (/cases/ with its GET filters).

The case list accepts: status (a status or "open"), channel, category (a category with
children: 大类 or 12345 二级), street, department, sla, overdue, created_from, created_to, q.
Filters the list does not (yet) offer — grid, community, case type, a leaf category — are
linked to the nearest filter it does offer, and `exact` says so; when the list learns the
filter, `exact` becomes true without any change here.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from urllib.parse import urlencode

from django.urls import NoReverseMatch, reverse

from cityops.cases.selectors import LIST_FILTER_PARAMS


@lru_cache(maxsize=1)
def _list_url() -> str:
    try:
        return reverse("cases:list")
    except NoReverseMatch:
        return "/cases/"


def _form_fields() -> set[str]:
    return set(LIST_FILTER_PARAMS)


def _category_accepted(code: str) -> bool:
    """Whether the list's category filter takes this code (it offers categories with children)."""
    from cityops.analytics.refs import refs

    return code in refs().parent_codes


class CaseLink:
    """Builds /cases/?… for one period (and street); `url(**filters)` → (url, exact)."""

    def __init__(self, start: date | None = None, end: date | None = None, street: str | None = None) -> None:
        self.base: dict[str, str] = {}
        if start:
            self.base["created_from"] = start.isoformat()
        if end:
            self.base["created_to"] = end.isoformat()
        if street:
            self.base["street"] = street
        self.fields = _form_fields()
        self._accepted: dict[str, bool] = {}

    def category_code(self, path: tuple[str, ...]) -> tuple[str, bool]:
        """The most specific code on the leaf→root `path` that the list accepts; exact if it is the leaf."""
        for i, code in enumerate(path):
            if code not in self._accepted:
                self._accepted[code] = _category_accepted(code)
            if self._accepted[code]:
                return code, i == 0
        return "", False

    def url(self, *, period: bool = True, **filters) -> tuple[str, bool]:
        params = dict(self.base) if period else {k: v for k, v in self.base.items() if k == "street"}
        exact = True
        for key, value in filters.items():
            if value in (None, ""):
                continue
            if key == "category_path":
                code, exact_cat = self.category_code(tuple(value))
                exact = exact and exact_cat
                if code:
                    params["category"] = code
                continue
            if key in ("grid", "community", "case_type") and key not in self.fields:
                exact = False
                continue
            params[key] = str(value)
        return f"{_list_url()}?{urlencode(params)}" if params else _list_url(), exact

    def href(self, **filters) -> str:
        return self.url(**filters)[0]
