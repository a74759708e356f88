"""Helpers of the intake tests (the fixtures are in conftest.py): the tiny district's corners and
points, image bytes, a citizen report form and a closed web case.

A tiny district 630102 of 0.02° × 0.02° near Xining; one street, one community, two grids
(west and east halves). Everything outside is "not in the district"."""

import io

from django.utils import timezone
from PIL import Image

from cityops.cases.models import Case, Channel
from cityops.cases.states import Status
from cityops.cases.tests.factories import make_case

W, S, E, N = 101.80, 36.60, 101.82, 36.62
MID = (W + E) / 2
INSIDE_WEST = (101.805, 36.61)
INSIDE_EAST = (101.815, 36.61)
OUTSIDE = (101.90, 36.70)


def box(w, s, e, n):
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def image_bytes(fmt="JPEG", size=(64, 48), exif=None) -> bytes:
    buf = io.BytesIO()
    image = Image.new("RGB", size, (200, 80, 40))
    kwargs = {"exif": exif} if exif is not None else {}
    image.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def report_data(**overrides):
    data = {
        "case_type": "complaint", "description": "小区门口垃圾堆积三天无人清运", "address": "东关大街 12 号门口",
        "lon": str(INSIDE_WEST[0]), "lat": str(INSIDE_WEST[1]), "coord_system": "wgs84",
        "reporter_name": "李四", "reporter_phone": "13900001111",
    }
    data.update(overrides)
    return data


def closed_case(category=None, department=None, **overrides):
    case = make_case(category=category, channel=Channel.WEB, reporter_name="王小明", reporter_phone="13512345678",
                     address="幸福路 8 号 3 单元 501", **overrides)
    Case.objects.filter(pk=case.pk).update(status=Status.CLOSED, closed_at=timezone.now(), department=department,
                                           result="已清运完毕", callback_status="pending")
    case.refresh_from_db()
    return case
