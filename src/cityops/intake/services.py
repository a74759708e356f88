"""Writes of the intake channels that are not plain `cases.services.case_create` calls."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from cityops.cases import fanout
from cityops.cases.errors import Conflict, InvalidTransition, ValidationFailed
from cityops.cases.models import Case, CaseEvent
from cityops.cases.states import (
    Action,
    CallbackStatus,
    ReviewStatus,
    Satisfaction,
    SatisfactionSource,
    Status,
)

MAX_RATING_COMMENT = 500
CITIZEN_LABEL = "市民"


def citizen_can_rate(case: Case) -> bool:
    """A closed case its reporter has not rated yet (merged duplicates are rated on their master).

    A staff callback does not stop the citizen from giving their own rating: it is kept apart
    (`citizen_satisfaction`) and fixes the case's result only if there is none yet."""
    return case.status == Status.CLOSED and not case.citizen_satisfaction and case.master_id is None


def citizen_rate(case: Case, satisfaction: str, comment: str = "", *, now: datetime | None = None) -> Case:
    """Record the reporter's own satisfaction rating of a closed case, once per case.

    The rating is always kept as `citizen_satisfaction`; it becomes the case's one result
    (`satisfaction`, source "citizen") only if no callback fixed one before. A 不满意 opens
    the dispatcher's 不满意复核 unless the case was already reviewed. Written like a workflow
    action: a conditional update on the version and a `rate` CaseEvent (payload
    {"satisfaction", "result": whether it fixed the result}) in one transaction. It never
    reopens a case.
    """
    now = now or timezone.now()
    if satisfaction not in Satisfaction.values:
        raise ValidationFailed("请选择满意度。", {"satisfaction": "invalid", "choices": Satisfaction.values})
    comment = (comment or "").strip()
    if len(comment) > MAX_RATING_COMMENT:
        raise ValidationFailed(f"评价内容不能超过 {MAX_RATING_COMMENT} 字。", {"comment": "too_long"})
    if case.citizen_satisfaction:
        raise InvalidTransition("您已评价过该案件，不能重复评价。", {"satisfaction": "already_rated"})
    if case.status != Status.CLOSED:
        raise InvalidTransition("案件尚未办结，办结后才能评价。", {"status": case.status})
    if case.master_id is not None:
        raise InvalidTransition("该反映已与其他反映合并办理，无需单独评价。", {"master": "merged"})
    fixes_result = not case.satisfaction
    fields: dict = {"citizen_satisfaction": satisfaction, "version": F("version") + 1}
    if fixes_result:
        fields.update(satisfaction=satisfaction, satisfaction_at=now, satisfaction_source=SatisfactionSource.CITIZEN)
        if case.callback_status in (CallbackStatus.PENDING, CallbackStatus.UNREACHABLE):
            fields["callback_status"] = CallbackStatus.DONE  # the result exists: nobody needs to call
    if satisfaction == Satisfaction.UNSATISFIED and (fixes_result or not case.review_status):
        fields["review_status"] = ReviewStatus.PENDING
    with transaction.atomic():
        updated = Case.objects.filter(
            pk=case.pk, version=case.version, status=Status.CLOSED, citizen_satisfaction=""
        ).update(**fields)
        if updated != 1:
            current = Case.objects.filter(pk=case.pk).values("citizen_satisfaction").first()
            if current and current["citizen_satisfaction"]:
                raise InvalidTransition("您已评价过该案件，不能重复评价。", {"satisfaction": "already_rated"})
            raise Conflict("案件已更新，请刷新后重试。")
        event = CaseEvent.objects.create(
            case=case, created_at=now, actor=None, actor_label=CITIZEN_LABEL, action=Action.RATE,
            from_status=Status.CLOSED, to_status=Status.CLOSED, note=comment,
            payload={"satisfaction": satisfaction, "result": fixes_result},
        )
        fresh = Case.objects.get(pk=case.pk)
        fanout.announce(fresh, event)
    return fresh


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
