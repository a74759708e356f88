"""Writes of the intake channels that are not plain `cases.services.case_create` calls."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from cityops.cases.errors import Conflict, InvalidTransition
from cityops.cases.models import Case
from cityops.cases.states import CITIZEN_TRANSITIONS, Action, guard_refusal
from cityops.cases.workflow import case_transition

CITIZEN_LABEL = "市民"


def citizen_can_rate(case: Case) -> bool:
    """Whether the public page offers the rating form: the `rate` transition's own status and
    guard (closed, not rated by the citizen yet, not a merged duplicate). A staff callback does
    not stop the citizen from giving their own rating."""
    transition = CITIZEN_TRANSITIONS[Action.RATE]
    return case.status in transition.sources and not guard_refusal(case, Action.RATE)


def citizen_rate(case: Case, satisfaction: str, comment: str = "", *, now: datetime | None = None) -> Case:
    """Record the reporter's own satisfaction rating of a closed case, once per case.

    The `rate` action of the one transition service (`cases.workflow.case_transition`, under
    the label 市民, without an actor): its guard refuses a second rating and a merged
    duplicate, its rule keeps a staff result (see `workflow._rate`), and it writes the case
    and its `rate` CaseEvent (payload {"satisfaction", "result"}, the comment as note) in one
    version-checked transaction.
    """
    try:
        return case_transition(case=case, action=Action.RATE, system_label=CITIZEN_LABEL,
                               data={"satisfaction": satisfaction, "note": comment or ""}, now=now)
    except Conflict:
        # Someone acted since the page was read; if it was this citizen's rating, say so.
        current = Case.objects.filter(pk=case.pk).values("citizen_satisfaction").first()
        if current and current["citizen_satisfaction"]:
            raise InvalidTransition("您已评价过该案件，不能重复评价。", {"satisfaction": "already_rated"}) from None
        raise Conflict("案件已更新，请刷新后重试。") from None


# ---------------------------------------------------------------- reports with a photo


def report_create(*, data, photo=None, actor=None, actor_label: str = "", keep_gps: bool = False) -> Case:
    """`case_create` plus the optional "before" photo, all or nothing: a photo that
    `attachment_add` refuses rolls the new case back."""
    from cityops.cases.models import AttachmentKind
    from cityops.cases.services import attachment_add, case_create

    with transaction.atomic():
        case = case_create(data=data, actor=actor, actor_label=actor_label)
        if photo is not None:
            photo.seek(0)
            event = case.events.order_by("id").first()
            attachment_add(case=case, upload=photo, kind=AttachmentKind.BEFORE, actor=actor, event=event, keep_gps=keep_gps)
    return case


def photo_gps(upload) -> tuple[float, float] | None:
    """(lon, lat) from a photo's EXIF GPS tags (cameras write WGS-84), or None."""
    import io

    from PIL import Image

    from cityops.cases.photos import gps_from_exif

    if upload is None:
        return None
    try:
        upload.seek(0)
        gps = gps_from_exif(Image.open(io.BytesIO(upload.read())))
    except Exception:  # not an image: no position (the upload's own check names the problem)
        return None
    finally:
        upload.seek(0)
    if gps is None:
        return None
    lon, lat = gps["lon"], gps["lat"]
    if not (-180 <= lon <= 180 and -90 <= lat <= 90) or (lon == 0 and lat == 0):
        return None
    return lon, lat
