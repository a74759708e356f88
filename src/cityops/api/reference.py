"""Reference data clients need to fill in cases: categories and departments."""

from __future__ import annotations

from django.db.models import Exists, OuterRef
from django.http import HttpRequest
from ninja import Query, Router

from cityops.api.schemas import CategoryOut, CategoryQuery, DepartmentOut, ErrorOut
from cityops.catalog.models import Category, Department

router = Router(tags=["基础数据"])


@router.get("/categories", response={200: list[CategoryOut], 400: ErrorOut, 401: ErrorOut}, summary="案件分类")
def list_categories(request: HttpRequest, query: Query[CategoryQuery]):
    qs = (
        Category.objects.filter(active=True)
        .annotate(has_children=Exists(Category.objects.filter(parent=OuterRef("pk"))))
        .values("code", "name", "system", "kind", "parent__code", "level", "has_children")
        .order_by("system", "code")
    )
    if query.system:
        qs = qs.filter(system=query.system)
    if query.leaf is not None:
        qs = qs.filter(has_children=not query.leaf)
    return [
        {"code": c["code"], "name": c["name"], "system": c["system"], "kind": c["kind"],
         "parent": c["parent__code"], "level": c["level"], "is_leaf": not c["has_children"]}
        for c in qs
    ]


@router.get("/departments", response={200: list[DepartmentOut], 401: ErrorOut}, summary="处置部门")
def list_departments(request: HttpRequest):
    return [
        {"code": d.code, "name": d.name, "short_name": d.short_name, "kind": d.kind, "kind_label": d.get_kind_display()}
        for d in Department.objects.filter(active=True).order_by("kind", "code")
    ]
