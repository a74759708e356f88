"""Widgets of the account forms: an inspector's grids picked from a street › community tree."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby
from typing import Any

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from cityops.geo.models import UnitGrid


def grid_label(code: str, name: str) -> str:
    """A grid's own name, or its sequence number within the community (the last two digits)."""
    return name or f"{code[-2:]} 号网格"


def _region_name(row: dict, prefix: str) -> str:
    return row[f"{prefix}__short_name"] or row[f"{prefix}__name"]


def grid_rows() -> list[dict[str, Any]]:
    """Every grid with its street and community names, in tree order (one query)."""
    rows = UnitGrid.objects.order_by("street__code", "community__code", "code").values(
        "pk", "code", "name", "street__code", "street__name", "street__short_name",
        "community__code", "community__name", "community__short_name",
    )
    return [dict(row) for row in rows]


class GridTreeWidget(forms.CheckboxSelectMultiple):
    """Grids as a tree of checkboxes: street › community › grid, collapsible, with a search box.

    ≈ 3,000 grids make Django's per-option templates slow, so the tree is built as one string
    here. Without JavaScript it is plain nested <details> with checkboxes; `grid_picker.js`
    adds the search, the per-branch "select all" boxes and the counters. The choices of the
    form field are not iterated (that would be a second query of every grid)."""

    class Media:
        css = {"all": ["accounts/grid_picker.css"]}
        js = ["accounts/grid_picker.js"]

    def render(self, name, value, attrs=None, renderer=None) -> SafeString:
        selected = {str(v) for v in (value or [])}
        rows = grid_rows()
        streets = []
        for (_, street_name), street_group in groupby(rows, key=lambda r: (r["street__code"], _region_name(r, "street"))):
            street_rows = list(street_group)
            communities = []
            for (_, community_name), community_rows in groupby(
                street_rows, key=lambda r: (r["community__code"], _region_name(r, "community"))
            ):
                communities.append(self._community(name, community_name, list(community_rows), selected))
            chosen = sum(1 for r in street_rows if str(r["pk"]) in selected)
            streets.append(format_html(
                '<details class="gp-street"{}><summary><span class="gp-name">{}</span>'
                ' <span class="gp-count" data-gp-count>{}/{}</span></summary>{}</details>',
                mark_safe(" open") if chosen else "", street_name, chosen, len(street_rows),
                mark_safe("".join(communities)),
            ))
        if not rows:
            streets.append(format_html('<p class="gp-empty">{}</p>', "尚未导入网格数据。"))
        return format_html(
            '<div class="grid-picker" data-grid-picker id="{}">'
            '<div class="gp-bar"><input type="search" class="gp-search" data-gp-search'
            ' placeholder="搜索街道、社区或网格编码" aria-label="搜索网格">'
            ' <span class="gp-total" data-gp-total>已选 {} 个网格</span>'
            ' <button type="button" class="button gp-clear" data-gp-clear>清空</button></div>'
            '<p class="gp-nomatch" data-gp-nomatch hidden>没有匹配的街道、社区或网格。</p>'
            '<div class="gp-tree">{}</div></div>',
            (attrs or {}).get("id", f"id_{name}"), len(selected & {str(r["pk"]) for r in rows}),
            mark_safe("".join(streets)),
        )

    @staticmethod
    def _community(name: str, community_name: str, rows: list[dict], selected: set[str]) -> str:
        chosen = sum(1 for r in rows if str(r["pk"]) in selected)
        items = format_html_join(
            "", '<li><label><input type="checkbox" name="{}" value="{}"{}> {} <code>{}</code></label></li>',
            (
                (name, r["pk"], mark_safe(" checked") if str(r["pk"]) in selected else "",
                 grid_label(r["code"], r["name"]), r["code"])
                for r in rows
            ),
        )
        return format_html(
            '<details class="gp-community"{}><summary><label class="gp-all"><input type="checkbox" data-gp-all'
            ' aria-label="全选{}"></label><span class="gp-name">{}</span> <span class="gp-count" data-gp-count>{}/{}</span>'
            '</summary><ul>{}</ul></details>',
            mark_safe(" open") if chosen else "", community_name, community_name, chosen, len(rows), items,
        )


def grid_summary(grids: Iterable[UnitGrid]) -> SafeString:
    """Read-only view of someone's grids: one line per community with its grid count."""
    grids = sorted(grids, key=lambda g: g.code)
    if not grids:
        return mark_safe("—")
    lines = []
    for _, community_group in groupby(grids, key=lambda g: g.community_id):
        group = list(community_group)
        first = group[0]
        lines.append((
            first.street.display_name, first.community.display_name, len(group),
            "、".join(grid_label(g.code, g.name) for g in group[:6]) + ("…" if len(group) > 6 else ""),
        ))
    return format_html_join(mark_safe("<br>"), "{} › {}：{} 个网格（{}）", lines)
