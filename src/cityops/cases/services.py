"""Writes that are not workflow transitions: creating a case and attaching files."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, transaction
from django.utils import timezone

from cityops.accounts import roles
from cityops.cases import fanout, photos, sla
from cityops.cases.errors import ValidationFailed
from cityops.cases.models import (
    Attachment,
    AttachmentKind,
    Case,
    CaseEvent,
    CaseNumberCounter,
    Channel,
    CoordSystem,
)
from cityops.cases.states import Action, Status
from cityops.catalog.models import CaseType, Category, Stage, Urgency
from cityops.catalog.selectors import intake_category
from cityops.common.db import asynchronous_commit
from cityops.common.refcache import ANY, ReferenceCache
from cityops.common.validators import PHONE_MESSAGE, is_phone
from cityops.geo.lookup import index_cache as geo_index_cache

MAX_DESCRIPTION = 4000
NUMBER_PREFIX = "CD"

# The one home of "which intake channels may a role report through"; the first is its default.
# The API's `channel` field, the operator desk's channel choices and `case_create` all read it.
ROLE_CHANNELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (roles.SYSTEM, (Channel.API, Channel.IOT, Channel.CITY_PLATFORM)),
    (roles.OPERATOR, (Channel.HOTLINE, Channel.CITY_PLATFORM, Channel.WEB)),
    (roles.INSPECTOR, (Channel.INSPECTOR,)),
)
# Channels set by their own entry point, never picked by a person: Open311 service requests
# arrive under the system account of the key that posted them.
ENTRY_CHANNELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (roles.SYSTEM, (Channel.OPEN311,)),
)


def channels_for(user) -> list[str]:
    """The channels `user` may pick when reporting, its default first (empty: none).

    A superuser may use every channel (default `api`); anyone else the union of their roles'.
    """
    if user is None or not user.is_authenticated:
        return []
    if user.is_superuser:
        return [Channel.API.value, *(c for c in Channel.values if c != Channel.API)]
    picked = [str(c) for role, channels in ROLE_CHANNELS if user.has_role(role) for c in channels]
    return list(dict.fromkeys(picked))


def channel_refusal(user) -> ValidationFailed:
    """The one refusal for a channel the user's roles may not use (desk and API say the same)."""
    allowed = channels_for(user)
    labels = "、".join(f"{c}（{Channel(c).label}）" for c in allowed) or "无"
    return ValidationFailed(f"您的角色不能使用该来源渠道，可用：{labels}。", {"channel": "not_allowed"})


def check_channel(user, channel: str, *, entry: bool = False) -> None:
    """Refuse `channel` unless `user` may report through it (ValidationFailed, code not_allowed).

    Nobody signed in (a citizen on the public form) is not checked: that entry point sets the
    channel itself. `entry=True` also admits the channels an entry point sets for the user's
    role (Open311 for system accounts); people picking a channel never get those.
    """
    if user is None or not user.is_authenticated:
        return
    if channel in channels_for(user):
        return
    if entry and any(channel in channels for role, channels in ENTRY_CHANNELS if user.has_role(role)):
        return
    raise channel_refusal(user)


@dataclass
class CaseInput:
    """What a report must say, whatever channel it came through."""

    description: str
    channel: str = Channel.HOTLINE
    case_type: str = CaseType.COMPLAINT
    title: str = ""
    lon: float | None = None
    lat: float | None = None
    coord_system: str = CoordSystem.WGS84
    address: str = ""
    category: str | None = None
    urgency: str | None = None
    reporter_name: str = ""
    reporter_phone: str = ""
    no_callback: bool = False  # the reporter asked not to be called back (不需要回访)
    external_id: str = ""
    require_location: bool = True


# Report types that may come without a place on the map (a consultation, a suggestion, praise);
# every other type needs one. The hotline desk and the bulk import ask this one set.
LOCATION_OPTIONAL = frozenset({CaseType.CONSULT, CaseType.SUGGEST, CaseType.PRAISE})


def next_case_number(now: datetime) -> str:
    """CD<yyyymmdd>-<nnnn>, counted per local day.

    Inside a transaction the day's counter row stays locked until that transaction ends.
    Called outside one (API and web intake), the counter moves in its own short transaction
    with an asynchronous commit, so concurrent intakes do not queue behind each other's
    commits on that one row. That is safe: the case's own synchronous commit comes later in
    the WAL and flushes it. An intake that then fails leaves a gap in the day's numbers, as a
    sequence would.
    """
    day = timezone.localtime(now).date()
    if connection.in_atomic_block:
        last = _bump_counter(day)
    elif connection.vendor == "postgresql":
        # One statement, its own transaction (migration cases/0005): what the block below does
        # in four round trips.
        with connection.cursor() as cursor:
            cursor.execute("SELECT cityops_next_case_number(%s)", [day])
            last = cursor.fetchone()[0]
    else:
        with asynchronous_commit():
            last = _bump_counter(day)
    return f"{NUMBER_PREFIX}{day:%Y%m%d}-{last:04d}"


def _bump_counter(day) -> int:
    sql = f'UPDATE {CaseNumberCounter._meta.db_table} SET "last" = "last" + 1 WHERE "day" = %s RETURNING "last"'
    with connection.cursor() as cursor:
        cursor.execute(sql, [day])
        row = cursor.fetchone()
    if row:
        return row[0]
    try:
        with transaction.atomic():
            CaseNumberCounter.objects.create(day=day, last=1)
        return 1
    except IntegrityError:
        with connection.cursor() as cursor:
            cursor.execute(sql, [day])
            return cursor.fetchone()[0]


def _validate(data: CaseInput) -> dict:
    errors: dict[str, str] = {}
    description = (data.description or "").strip()
    if not description:
        errors["description"] = "请填写问题描述。"
    elif len(description) > MAX_DESCRIPTION:
        errors["description"] = f"问题描述不能超过 {MAX_DESCRIPTION} 字。"
    texts = {"description": data.description, "title": data.title, "address": data.address,
             "reporter_name": data.reporter_name, "reporter_phone": data.reporter_phone, "external_id": data.external_id}
    for name, text in texts.items():
        if text and "\x00" in text:  # PostgreSQL cannot store NUL; every channel must refuse it, not 500
            errors[name] = "内容含有不允许的控制字符（NUL）。"
    if data.channel not in Channel.values:
        errors["channel"] = "来源渠道无效。"
    if data.case_type not in CaseType.values:
        errors["case_type"] = "工单类型无效，可选：" + "、".join(f"{v}({label})" for v, label in CaseType.choices)
    if data.urgency and data.urgency not in Urgency.values:
        errors["urgency"] = "紧急程度无效。"
    if data.coord_system not in CoordSystem.values:
        errors["coord_system"] = "坐标系无效，可选 wgs84 或 gcj02。"
    phone = (data.reporter_phone or "").strip()
    if phone and not is_phone(phone):
        errors["reporter_phone"] = PHONE_MESSAGE
    category = None
    if data.category:
        category, has_children = intake_category(data.category)
        if category is None:
            errors["category"] = f"分类编码 {data.category} 不存在。"
        elif has_children:
            errors["category"] = f"{category.name} 是大类，请选择具体小类。"
    if (data.lon is None) != (data.lat is None):
        errors["location"] = "经度和纬度须同时提供。"
    elif data.lon is None and data.require_location:
        errors["location"] = "请在地图上选择问题位置。"
    location = None
    if data.lon is not None and data.lat is not None and "location" not in errors and "coord_system" not in errors:
        from cityops.geo.coords import CoordSystem as GeoCoordSystem
        from cityops.geo.lookup import NoGeoDataError, OutsideDistrictError, locate

        try:
            location = locate(float(data.lon), float(data.lat), GeoCoordSystem(data.coord_system))
        except OutsideDistrictError:
            errors["location"] = "位置不在本辖区。"
        except NoGeoDataError:
            errors["location"] = "辖区地理数据尚未加载，暂时无法定位。"
        except (TypeError, ValueError):
            errors["location"] = "坐标格式不正确。"
    if errors:
        first = next(iter(errors.values()))
        raise ValidationFailed(first, errors)
    return {"description": description, "category": category, "location": location}


def case_create(*, data: CaseInput, actor=None, actor_label: str = "", now: datetime | None = None) -> Case:
    """Register a new report (status 待受理) with its location resolved and its 立案 clock running.

    A signed-in `actor` may report only through a channel of their roles (`check_channel`): the
    desk, the API and the channel endpoints are all refused here with the same message.
    """
    now = now or timezone.now()
    if data.channel in Channel.values:
        check_channel(actor, data.channel, entry=True)
    clean = _validate(data)
    category: Category | None = clean["category"]
    location = clean["location"]
    urgency = data.urgency or (category.default_urgency if category else Urgency.NORMAL)
    case = Case(
        channel=data.channel,
        external_id=(data.external_id or "").strip(),
        case_type=data.case_type,
        category=category,
        urgency=urgency,
        title=(data.title or "").strip()[:120],
        description=clean["description"],
        address=(data.address or "").strip()[:200],
        reporter_name=(data.reporter_name or "").strip()[:64],
        reporter_phone=(data.reporter_phone or "").strip(),
        no_callback=bool(data.no_callback),
        created_by=actor if actor is not None and actor.is_authenticated else None,
        created_at=now,
        status=Status.NEW,
    )
    if location is not None:
        case.lon, case.lat = location.lon, location.lat
        case.coord_source = data.coord_system
        case.grid = _grid(location.grid_code)
        case.street = _region(location.street_code)
        case.community = _region(location.community_code)
    for key, value in sla.stage_fields(case, Stage.REGISTER, now).items():
        setattr(case, key, value)
    if case.external_id and Case.objects.filter(channel=case.channel, external_id=case.external_id).exists():
        raise ValidationFailed("该外部编号的案件已存在。", {"external_id": "duplicate"})
    # Outside a transaction the number is taken first, in its own short one (see next_case_number).
    number = None if connection.in_atomic_block else next_case_number(now)
    with transaction.atomic():
        case.number = number or next_case_number(now)
        case.save(force_insert=True)
        event = CaseEvent.objects.create(
            case=case, created_at=now, actor=case.created_by,
            actor_label=actor_label or (str(actor) if case.created_by else Channel(case.channel).label),
            action=Action.CREATE, to_status=Status.NEW,
            payload={"channel": case.channel, "coord_system": data.coord_system},
        )
        fanout.announce(case, event)
    return case


def case_create_registered(*, data: CaseInput, actor) -> Case:
    """受理并立案: a hotline seat that classified the call registers it in the same step.

    All or nothing: the report and its 立案 commit together, so a refused 立案 leaves no
    待受理 case behind for someone else to register twice.
    """
    from cityops.cases.workflow import case_transition  # workflow builds on this module

    if not data.category:
        raise ValidationFailed("受理并立案须先选择分类。", {"category": "请选择分类后再受理并立案。"})
    with transaction.atomic():
        case = case_create(data=data, actor=actor)
        return case_transition(case=case, action=Action.REGISTER, actor=actor)


# Grid / region rows by code for new cases. A cache across requests, not a per-request memo: a
# request creates one case, so a memo would save nothing, while the cache saves two queries per
# case. Both tables change only with the geo data, so the cache follows the geo index: cleared
# with it in this process, and in the others when its version moves. Each case gets its own
# instance built with `from_db`, so nothing is shared between requests and the boundary stays
# deferred (loaded only if someone reads it).
_geo_rows = ReferenceCache("cases.geo_rows", follows=geo_index_cache, transactions=ANY)


def _geo_object(model, code: str | None):
    if not code:
        return None

    def load():
        names = [f.attname for f in model._meta.concrete_fields if f.name != "boundary"]
        row = model.objects.filter(code=code).values_list(*names).first()
        return (names, row) if row is not None else None

    entry = _geo_rows.get((model.__name__, code), load)
    return model.from_db(DEFAULT_DB_ALIAS, *entry) if entry is not None else None


def _grid(code: str | None):
    from cityops.geo.models import UnitGrid

    return _geo_object(UnitGrid, code)


def _region(code: str | None):
    from cityops.geo.models import Region

    return _geo_object(Region, code)


# ---------------------------------------------------------------- attachments

def max_upload_bytes() -> int:
    return int(settings.CITYOPS_MAX_UPLOAD_MB) * 1024 * 1024


def attachment_add(*, case: Case, upload, kind: str, actor=None, event: CaseEvent | None = None, keep_gps: bool = False) -> Attachment:
    """Store a photo after checking it is really a JPEG/PNG/WebP of sane dimensions (by
    content, not by name; see `cases.photos`).

    What is stored under a generated name is the re-encoded copy without any metadata; with
    `keep_gps` (an inspector's photo: its GPS is evidence) the original bytes are kept too, as
    the private original, and the position is recorded. The client's file name is only
    display text."""
    if kind not in AttachmentKind.values:
        raise ValidationFailed("附件类型无效。", {"kind": "invalid"})
    size = getattr(upload, "size", None) or 0
    if size > max_upload_bytes():
        raise ValidationFailed(f"文件过大（{size / 1048576:.1f} MB），上限为 {max_upload_bytes() // 1048576} MB。", {"file": "too_large"})
    if size == 0:
        raise ValidationFailed("文件为空。", {"file": "empty"})
    raw = upload.read()
    try:
        clean = photos.photo_sanitize(raw, read_gps=keep_gps)
    except photos.PhotoRejected as exc:
        raise ValidationFailed(exc.message, {"file": exc.code}) from None
    attachment = Attachment(
        case=case, event=event, kind=kind, original_name=photos.display_name(getattr(upload, "name", "")),
        content_type=clean.content_type, size=len(raw), gps=clean.gps,
        uploaded_by=actor if actor is not None and actor.is_authenticated else None,
    )
    stored_original = raw if keep_gps else clean.data
    attachment.file.save(f"photo.{clean.ext}", ContentFile(stored_original), save=False)
    attachment.public_file.save(f"photo.{clean.ext}", ContentFile(clean.data), save=False)
    attachment.save()
    return attachment


# ---------------------------------------------------------------- masking


def mask_phone(phone: str) -> str:
    digits = phone.strip()
    if len(digits) >= 7:
        return f"{digits[:3]}****{digits[-4:]}"
    return "****" if digits else ""


def mask_name(name: str) -> str:
    name = name.strip()
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)
