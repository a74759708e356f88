"""Open311 GeoReport v2 server, mounted at /open311/v2/ (see shared/domain/OPEN311.md).

Services are our active leaf categories (`service_code` = category code); requests are
our cases (`service_request_id` = case number), `open`/`closed` mapped from our states.
Every resource answers in `.xml` and `.json`; errors are the spec's list of
`{code, description}` with HTTP 400, 403 or 404 (429 when a client posts too often).

Reads publish only what is public (issue 14; docs/integration.md, "What is published"), the
same for every caller, with or without an api_key (integrations read /api/v1 instead):

* a case only once registered (立案) or later, never 待受理 or 不予立案, never a duplicate merged
  into another case, never a 举报, never from the 网格员 channel or a channel outside
  CITYOPS_OPEN311_CHANNELS, never of a category that (or whose ancestor) is not publishable;
* its description and answers through `cityops.common.pii.mask_text` with the reporter's name
  removed; for citizens' cases the street and community instead of the typed address and the
  point rounded to CITYOPS_OPEN311_COORD_DECIMALS; no point at all when it is a photo's EXIF
  position; the department only when CITYOPS_OPEN311_SHOW_DEPARTMENT; photos only the
  EXIF-free copies of after-processing (处置后/核查) photos.

Services are the publishable leaves; a case that is not public answers 404 like one that
does not exist.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
import secrets
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.db.models import Case as Choose
from django.db.models import Exists, F, FloatField, Max, OuterRef, Prefetch, QuerySet, Value, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Abs, Cast, Round
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.views.decorators.csrf import csrf_exempt

from cityops.api.errors import escape_json_html
from cityops.api.keys import HEADER, KeyRejected, authenticate_request, log_call
from cityops.cases import sla
from cityops.cases.errors import ValidationFailed
from cityops.cases.models import Attachment, AttachmentKind, Case, Channel, CoordSystem
from cityops.cases.services import MAX_DESCRIPTION, CaseInput
from cityops.cases.states import FINAL_STATUSES, OPEN_STATUSES, Status
from cityops.catalog.models import CaseType, Category, CategorySystem
from cityops.common import pii, ratelimit
from cityops.intake.channels import create_external_case
from cityops.intake.mapping import Mappings

log = logging.getLogger("cityops.api.open311")

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
MAX_RESULTS = 1000
DEFAULT_WINDOW = timedelta(days=90)
MAX_POST_BYTES = 256 * 1024
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Only after-processing photos are published (their EXIF-free copy): a 处置前 photo shows what
# the reporter saw, often people, number plates or the inside of a home.
PUBLIC_PHOTO_KINDS = (AttachmentKind.AFTER, AttachmentKind.VERIFY)

# What the public is told each state means (internal steps such as 退回 or 挂账 read as progress).
STATUS_NOTES = {
    Status.NEW: "待受理",
    Status.REGISTERED: "已立案",
    Status.DISPATCHED: "已派遣，处置中",
    Status.IN_PROGRESS: "处置中",
    Status.RETURNED: "派遣中",
    Status.SUSPENDED: "处置中（需较长时间）",
    Status.RESPONDED: "已处置，待核查",
    Status.CLOSED: "已办结",
    Status.REJECTED: "不予立案",
}
# Citizens may choose among these on POST (attribute[case_type]); 举报 cases are never published.
POST_CASE_TYPES = [CaseType.COMPLAINT, CaseType.HELP, CaseType.REPORT, CaseType.SUGGEST, CaseType.CONSULT, CaseType.PRAISE]

# XML element names of list items.
_ITEM_TAGS = {
    "services": "service", "service_requests": "request", "errors": "error", "attributes": "attribute",
    "values": "value", "endpoints": "endpoint", "formats": "format", "photos": "photo",
}


class Open311Error(Exception):
    def __init__(self, status: int, description: str, code: int | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.errors = [{"code": code or status, "description": description}]
        self.headers = headers or {}


def _throttle(request: HttpRequest, scope: str, key) -> None:
    """POSTs beyond the scope's rate: HTTP 429 in the spec's error list, with Retry-After."""
    if not ratelimit.hit(request, scope, key):
        retry = ratelimit.retry_after(request, scope, key)
        raise Open311Error(429, f"请求过于频繁，请 {retry} 秒后再试。", headers={"Retry-After": str(retry)})


def jurisdiction_id() -> str:
    return str(settings.CITYOPS_OPEN311_JURISDICTION or settings.CITYOPS_DISTRICT_CODE)


# ---------------------------------------------------------------- rendering


_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso(value)
    return _NOT_XML.sub("", str(value))  # control characters are not allowed in XML 1.0


def _xml_fill(parent: ET.Element, key: str, value: Any) -> None:
    node = ET.SubElement(parent, key)
    if isinstance(value, dict):
        for k, v in value.items():
            _xml_fill(node, k, v)
    elif isinstance(value, list):
        item = _ITEM_TAGS.get(key, "item")
        for v in value:
            _xml_fill(node, item, v)
    else:
        text = _text(value)
        if text:
            node.text = text


def to_xml(root: str, data: Any) -> bytes:
    """`<root>` holding a list (items named by `_ITEM_TAGS`) or the fields of an object."""
    element = ET.Element(root)
    if isinstance(data, list):
        for item in data:
            _xml_fill(element, _ITEM_TAGS[root], item)
    else:
        for key, value in data.items():
            _xml_fill(element, key, value)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="unicode").encode("utf-8")


def render(fmt: str, root: str, data: Any, status: int = 200) -> HttpResponse:
    if fmt == "json":
        body = escape_json_html(json.dumps(data, ensure_ascii=False, default=_text)).encode("utf-8")
        return HttpResponse(body, status=status, content_type="application/json; charset=utf-8")
    return HttpResponse(to_xml(root, data), status=status, content_type="text/xml; charset=utf-8")


def iso(value: datetime | None) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def open311_view(*methods: str):
    """Format suffix, method check, the spec's error envelope, API key call log; never a 500."""

    def decorate(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, fmt: str = "xml", **kwargs):
            try:
                if request.method not in methods:
                    raise Open311Error(400, f"不支持 {request.method} 方法，可用：{', '.join(methods)}。", 405)
                if request.method == "POST":
                    _throttle(request, "open311_post_ip", "ip")
                    _check_body(request)
                else:
                    _optional_key(request)
                _check_jurisdiction(request)
                response = view(request, *args, fmt=fmt, **kwargs)
            except Open311Error as exc:
                response = render(fmt, "errors", exc.errors, exc.status)
                for header, value in exc.headers.items():
                    response[header] = value
            except (RequestDataTooBig, TooManyFieldsSent):
                response = render(fmt, "errors", [{"code": 413, "description": "请求体过大。"}], 400)
            except SuspiciousOperation:
                response = render(fmt, "errors", [{"code": 400, "description": "请求无效。"}], 400)
            except Exception:
                # The spec's "general failure" is a 400 too; the cause goes to the log.
                log.exception("Open311 %s %s failed", request.method, request.path)
                response = render(fmt, "errors", [{"code": 500, "description": "服务暂时不可用，请稍后重试。"}], 400)
            if request.method in methods and "Allow" not in response:
                response["Allow"] = ", ".join(methods)
            log_call(request, response)
            return response

        return wrapper

    return decorate


# ---------------------------------------------------------------- parameters


def _params(request: HttpRequest) -> dict[str, str]:
    """Query (and form) parameters; an empty parameter counts as absent."""
    merged: dict[str, str] = {}
    sources = [request.GET] + ([request.POST] if request.method == "POST" else [])
    for source in sources:
        for key in source:
            value = source.get(key, "")
            if value is not None and str(value).strip() != "":
                merged[key] = str(value).strip()
    return merged


def _check_jurisdiction(request: HttpRequest) -> None:
    given = (request.GET.get("jurisdiction_id") or "").strip()
    if not given and request.method == "POST" and _is_form(request):
        given = (request.POST.get("jurisdiction_id") or "").strip()
    if given and given != jurisdiction_id():
        raise Open311Error(404, f"jurisdiction_id {given} 不存在，本端点只服务 {jurisdiction_id()}。")


def _optional_key(request: HttpRequest) -> None:
    """A key sent with a read is not needed, but its calls are logged under its name."""
    raw = request.GET.get("api_key") or request.headers.get(HEADER)
    if raw:
        try:
            authenticate_request(request, raw)
        except KeyRejected:
            request.api_key = None


# Dates a client may ask for: wide enough for any real history, narrow enough that the
# 90-day window and the shift to UTC never leave what datetime and the database can hold.
EARLIEST_YEAR, LATEST_YEAR = 1900, 2999
_W3C_EXAMPLE = "如 2026-01-01 或 2026-01-01T00:00:00+08:00"


def _parse_when(name: str, raw: str, *, end: bool = False) -> datetime:
    """A W3C date or date-time as an aware datetime; anything else is the spec's 400 naming the parameter."""
    try:
        value = parse_datetime(raw) if "T" in raw or " " in raw else None
        if value is None and "T" not in raw:
            day = parse_date(raw)
            if day is not None:
                value = datetime.combine(day, datetime.min.time())
                if end and day.year <= LATEST_YEAR:
                    value += timedelta(days=1)
    except (ValueError, OverflowError):  # well-formed but impossible: 2026-02-30, 25:00, offset +99:00
        raise Open311Error(400, f"{name} 不是有效的日期时间（W3C 格式，{_W3C_EXAMPLE}；时区偏移须在 ±24:00 以内）。") from None
    if value is None:
        raise Open311Error(400, f"{name} 不是有效的日期时间（W3C 格式，{_W3C_EXAMPLE}）。")
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise Open311Error(400, f"{name} 的日期须在 {EARLIEST_YEAR} 年到 {LATEST_YEAR} 年之间（收到 {raw}）。")
    return value if timezone.is_aware(value) else timezone.make_aware(value)


def _int(name: str, raw: str | None, default: int, lo: int, hi: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Open311Error(400, f"{name} 须为整数。") from None
    if not lo <= value <= hi:
        raise Open311Error(400, f"{name} 须在 {lo} 到 {hi} 之间。")
    return value


def _csv(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


# ---------------------------------------------------------------- what is public

# 网格员 reports are the command centre's own inspection work: never published, whatever
# CITYOPS_OPEN311_CHANNELS lists.
NEVER_PUBLISHED_CHANNELS = frozenset({Channel.INSPECTOR})
DEFAULT_CHANNELS = (Channel.CITY_PLATFORM, Channel.HOTLINE, Channel.WEB, Channel.OPEN311, Channel.API)
# Reported by or for a citizen: the point and the address may be the reporter's home.
CITIZEN_CHANNELS = frozenset(DEFAULT_CHANNELS)
# Registered (立案) or later: not 待受理 (nobody has reviewed it) and not 不予立案.
PUBLIC_STATUSES = frozenset(Status) - {Status.NEW, Status.REJECTED}
# A case's point closer than this (degrees, ≈ 0.1 m) to a photo's EXIF position came from it.
EXIF_TOLERANCE = 1e-6
NAME_MASK = "**"
# The parts of an address inside a building (3 单元 502 室, 5 号楼, 2 栋): they point at one
# home, so their numbers are hidden; street numbers (东关大街 12 号) stay, they name a place.
_HOME_PARTS = re.compile(r"[0-9０-９一二三四五六七八九十百零〇]+(?=\s*(?:号楼|栋|幢|单元|室|户|层|楼))")
_HONORIFICS = "先生|女士|小姐|师傅|阿姨|大爷|大妈|老师|同志|老人"


def published_channels() -> list[str]:
    configured = settings.CITYOPS_OPEN311_CHANNELS
    return sorted((set(configured) & set(Channel.values)) - NEVER_PUBLISHED_CHANNELS)


def coord_decimals() -> int:
    """Decimals kept of a citizen case's coordinates (3 ≈ 100 m), between 0 and 6."""
    try:
        value = int(settings.CITYOPS_OPEN311_COORD_DECIMALS)
    except (TypeError, ValueError):
        value = 3
    return min(max(value, 0), 6)


def show_department() -> bool:
    return bool(settings.CITYOPS_OPEN311_SHOW_DEPARTMENT)


def hidden_category_ids() -> set[int]:
    """Categories whose cases are not published: not publishable themselves or below one that is not."""
    rows = dict(Category.objects.values_list("pk", "parent_id"))
    closed = set(Category.objects.filter(publishable=False).values_list("pk", flat=True))
    hidden: set[int] = set()
    for pk in rows:
        node, seen = pk, set()
        while node is not None and node not in seen:
            if node in closed or node in hidden:
                hidden.add(pk)
                break
            seen.add(node)
            node = rows.get(node)
    return hidden


def public_cases() -> QuerySet[Case]:
    """The cases Open311 may show anyone (see the module's docstring)."""
    return (
        Case.objects.filter(
            status__in=PUBLIC_STATUSES, registered_at__isnull=False, master__isnull=True,
            channel__in=published_channels(), category__isnull=False,
        )
        .exclude(case_type=CaseType.REPORT)
        .exclude(category_id__in=hidden_category_ids())
    )


def _with_public_point(qs: QuerySet[Case]) -> QuerySet[Case]:
    """`pub_lat`/`pub_lon`: the point as published, computed in the database so that `bbox`
    filters on what is shown and cannot be used to narrow a rounded point down."""
    photo_lat = Cast(KeyTextTransform("lat", "gps"), FloatField())
    photo_lon = Cast(KeyTextTransform("lon", "gps"), FloatField())
    from_photo = Exists(
        Attachment.objects.filter(case=OuterRef("pk"), gps__isnull=False)
        .annotate(d_lat=Abs(photo_lat - Cast(OuterRef("lat"), FloatField())),
                  d_lon=Abs(photo_lon - Cast(OuterRef("lon"), FloatField())))
        .filter(d_lat__lt=EXIF_TOLERANCE, d_lon__lt=EXIF_TOLERANCE)
    )
    decimals = coord_decimals()

    def published(field: str) -> Choose:
        return Choose(
            When(point_from_photo=True, then=Value(None, output_field=FloatField())),
            When(channel__in=sorted(CITIZEN_CHANNELS), then=Cast(Round(F(field), decimals), FloatField())),
            default=F(field), output_field=FloatField(),
        )

    return qs.annotate(point_from_photo=from_photo).annotate(pub_lat=published("lat"), pub_lon=published("lon"))


def _without_name(text: str, name: str) -> str:
    """`text` without the reporter's name: the full name, and the surname with a form of address (张先生)."""
    name = (name or "").strip()
    if not text or not name:
        return text
    text = text.replace(name, NAME_MASK)
    if len(name) >= 2 and all("\u4e00" <= ch <= "\u9fff" for ch in name):
        text = re.sub(f"{re.escape(name[0])}(?={_HONORIFICS})", NAME_MASK, text)
    return text


def public_text(text: str, *, name: str = "") -> str:
    """Free text as the public may read it: the reporter's name removed, phone numbers,
    ID-card numbers, bank cards and e-mails masked (`cityops.common.pii`), and the numbers of
    building, unit, floor and room hidden."""
    text = pii.mask_text(_without_name(text or "", name))
    return _NOT_XML.sub("", _HOME_PARTS.sub("*", text))


# ---------------------------------------------------------------- services


def _services_qs():
    """Active, publishable leaves whose ancestors are publishable too: what may be listed and posted."""
    return (
        Category.objects.filter(active=True, children__isnull=True, publishable=True)
        .exclude(pk__in=hidden_category_ids()).select_related("parent").order_by("system", "sort_order", "code")
    )


def _service_out(category: Category) -> dict[str, Any]:
    group = category.parent.name if category.parent_id else CategorySystem(category.system).label
    description = category.register_condition or (f"{group} - {category.name}" if category.parent_id else category.name)
    return {
        "service_code": category.code, "service_name": category.name, "description": description,
        "metadata": True, "type": "realtime", "keywords": ",".join(category.keywords.split()), "group": group,
    }


def _leaf(code: str) -> Category | None:
    return _services_qs().filter(code=code).first()


def _definition(category: Category) -> dict[str, Any]:
    attributes = [{
        "variable": True, "code": "case_type", "datatype": "singlevaluelist", "required": False,
        "datatype_description": "默认 complaint（投诉）", "order": 1, "description": "反映类型",
        "values": [{"key": value, "name": CaseType(value).label} for value in POST_CASE_TYPES],
    }]
    if category.register_condition:
        attributes.append({
            "variable": False, "code": "register_condition", "datatype": "string", "required": False,
            "datatype_description": "", "order": 2, "description": f"立案条件：{category.register_condition}",
        })
    return {"service_code": category.code, "attributes": attributes}


# ---------------------------------------------------------------- requests


def _media_url(request: HttpRequest, case: Case) -> str | None:
    """The first after-processing photo's EXIF-free copy. A link the reporter posted is not
    republished: it may lead to the reporter or show what a 处置前 photo shows."""
    photos = getattr(case, "public_photos", None)
    if photos is None:
        photos = list(case.attachments.filter(kind__in=PUBLIC_PHOTO_KINDS).exclude(public_file="").order_by("created_at", "id")[:1])
    return request.build_absolute_uri(photos[0].public_file.url) if photos else None


def _status_notes(case: Case) -> str:
    note = STATUS_NOTES.get(case.status, case.get_status_display())
    if case.status == Status.CLOSED and case.answer:
        return f"{note}：{public_text(case.answer, name=case.reporter_name)}"
    if case.status == Status.CLOSED and case.result:
        return f"{note}：{public_text(case.result, name=case.reporter_name)}"
    return note


def _public_address(case: Case) -> str:
    """A citizen's case: its street and community, not the typed address (often the reporter's home)."""
    if case.channel in CITIZEN_CHANNELS:
        return " ".join(region.name for region in (case.street, case.community) if region is not None)
    return public_text(case.address, name=case.reporter_name)


def request_out(request: HttpRequest, case: Case, *, extensions: bool = False) -> dict[str, Any]:
    """One case of `_requests_qs()` (which annotates the published point) as the public sees it."""
    closed = case.status in FINAL_STATUSES
    citizen = case.channel in CITIZEN_CHANNELS
    out = {
        "service_request_id": case.number,
        "status": "closed" if closed else "open",
        "status_notes": _status_notes(case),
        "service_name": case.category.name if case.category_id else "",
        "service_code": case.category.code if case.category_id else "",
        "description": public_text(case.description, name=case.reporter_name),
        "service_notice": "",
        "requested_datetime": iso(case.created_at),
        "updated_datetime": iso(case.closed_at if closed and case.closed_at else case.updated_at),
        "expected_datetime": None if closed else iso(case.handle_deadline or case.deadline),
        "address": _public_address(case),
        "address_id": None,
        "zipcode": None,
        "lat": case.pub_lat,
        "long": case.pub_lon,
        "media_url": _media_url(request, case),
    }
    if show_department():  # optional in the spec: absent unless the district publishes departments
        out["agency_responsible"] = case.department.name if case.department_id else ""
    if extensions:
        out["extended_attributes"] = {
            "channel": case.channel,
            "status_detail": case.status,
            "street": case.street.name if case.street_id else "",
            "community": case.community.name if case.community_id else "",
            "grid": case.grid.code if case.grid_id and not citizen else "",  # a grid cell is finer than the rounding
            "duplicate": False,  # merged duplicates are never published
            "parent_service_request_id": None,
        }
    return out


def _requests_qs():
    """The public cases with what `request_out` reads; every read of requests starts here."""
    photos = Attachment.objects.filter(kind__in=PUBLIC_PHOTO_KINDS).exclude(public_file="").order_by("created_at", "id")
    return _with_public_point(public_cases()).select_related(
        "category", "department", "street", "community", "grid",
    ).prefetch_related(Prefetch("attachments", queryset=photos, to_attr="public_photos"))


def _filtered(params: dict[str, str], now: datetime):
    qs = _requests_qs()
    ids = _csv(params.get("service_request_id"))
    if ids:  # overrides every other filter
        return qs.filter(number__in=ids[:MAX_RESULTS]).order_by("-created_at", "-id"), MAX_RESULTS, 1
    codes = _csv(params.get("service_code"))
    if codes:
        qs = qs.filter(category__code__in=codes)
    statuses = _csv(params.get("status"))
    if statuses:
        bad = [s for s in statuses if s not in ("open", "closed")]
        if bad:
            raise Open311Error(400, f"status 只能是 open 或 closed，收到 {', '.join(bad)}。")
        wanted = set()
        if "open" in statuses:
            wanted |= set(OPEN_STATUSES)
        if "closed" in statuses:
            wanted |= set(FINAL_STATUSES)
        qs = qs.filter(status__in=wanted)
    start = _parse_when("start_date", params["start_date"]) if "start_date" in params else None
    end = _parse_when("end_date", params["end_date"], end=True) if "end_date" in params else None
    updated_after = _parse_when("updated_after", params["updated_after"]) if "updated_after" in params else None
    updated_before = _parse_when("updated_before", params["updated_before"], end=True) if "updated_before" in params else None
    if start and end and end < start:
        raise Open311Error(400, "end_date 不能早于 start_date。")
    if start and end and end - start > DEFAULT_WINDOW:
        raise Open311Error(400, "start_date 到 end_date 的跨度不能超过 90 天。")
    if updated_after or updated_before:
        # Incremental sync (v2.1 draft): the update window replaces the default 90 days.
        if updated_after:
            qs = qs.filter(updated_at__gte=updated_after)
        if updated_before:
            qs = qs.filter(updated_at__lt=updated_before)
        if start:
            qs = qs.filter(created_at__gte=start)
        if end:
            qs = qs.filter(created_at__lt=end)
    else:
        if start is None and end is None:
            end = now
        if start is None:
            start = end - DEFAULT_WINDOW
        if end is None:
            end = min(now, start + DEFAULT_WINDOW)
        qs = qs.filter(created_at__gte=start, created_at__lt=end)
    if "bbox" in params:
        try:
            min_lon, min_lat, max_lon, max_lat = (float(v) for v in params["bbox"].split(","))
        except ValueError:
            raise Open311Error(400, "bbox 须为 minLng,minLat,maxLng,maxLat 四个数。") from None
        if not all(math.isfinite(v) for v in (min_lon, min_lat, max_lon, max_lat)):
            raise Open311Error(400, "bbox 的四个数须为有限数值。")
        qs = qs.filter(pub_lon__gte=min_lon, pub_lon__lte=max_lon, pub_lat__gte=min_lat, pub_lat__lte=max_lat)
    page_size = _int("page_size", params.get("page_size"), MAX_RESULTS, 1, MAX_RESULTS)
    page = _int("page", params.get("page"), 1, 1, 1_000_000)
    return qs.order_by("-created_at", "-id"), page_size, page


# ---------------------------------------------------------------- POST requests


def _api_key_user(request: HttpRequest):
    raw = request.POST.get("api_key") or request.GET.get("api_key") or request.headers.get(HEADER)
    if not raw:
        raise Open311Error(403, "缺少 api_key。")
    try:
        user = authenticate_request(request, raw)
    except KeyRejected as exc:
        raise Open311Error(403, f"api_key 无效：{exc.message}") from None
    if not user.has_perm("cases.add_case"):
        raise Open311Error(403, "该 api_key 无权提交服务请求。")
    return user


def _content_type(request: HttpRequest) -> str:
    return (request.META.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()


def _is_form(request: HttpRequest) -> bool:
    return _content_type(request) in FORM_TYPES


def _check_body(request: HttpRequest) -> None:
    kind = _content_type(request)
    if kind not in FORM_TYPES:
        raise Open311Error(400, f"请求体须为 application/x-www-form-urlencoded，收到的是 {kind or '空'}。", 415)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_POST_BYTES:
        raise Open311Error(400, f"请求体过大（{length} 字节），上限 {MAX_POST_BYTES} 字节。", 413)


_ATTRIBUTE = re.compile(r"^attribute\[([^\]]+)\](\[\])?$")


def _attributes(request: HttpRequest) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in request.POST:
        match = _ATTRIBUTE.match(key)
        if match:
            values = [v.strip() for v in request.POST.getlist(key) if v.strip()]
            if values:
                out[match.group(1)] = values if match.group(2) else values[-1]
    return out


def _float(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise Open311Error(400, f"{name} 须为数字。") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise Open311Error(400, f"{name} 须为有限数值。")
    return value


def _full_name(first: str, last: str) -> str:
    """Chinese names are family name first, with no space: 张 + 三 → 张三."""
    if first and last and all("\u4e00" <= ch <= "\u9fff" for ch in first + last):
        return last + first
    return " ".join(p for p in (first, last) if p)


def _create(request: HttpRequest, fmt: str) -> HttpResponse:
    user = _api_key_user(request)
    _throttle(request, "open311_post_key", ratelimit.by_value(f"key:{request.api_key.pk}"))
    params = _params(request)
    code = params.get("service_code")
    if not code:
        raise Open311Error(400, "缺少 service_code。")
    category = _leaf(code)
    if category is None:
        raise Open311Error(404, f"service_code {code} 不存在。")
    lat_raw, lon_raw = params.get("lat"), params.get("long")
    address, address_id = params.get("address_string", ""), params.get("address_id", "")
    if (lat_raw is None) != (lon_raw is None):
        raise Open311Error(400, "lat 和 long 须同时提供。")
    if lat_raw is None and not address and not address_id:
        raise Open311Error(400, "须提供位置：lat 和 long，或 address_string，或 address_id。")
    lat = _float("lat", lat_raw) if lat_raw is not None else None
    lon = _float("long", lon_raw) if lon_raw is not None else None
    if lat is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise Open311Error(400, "lat/long 超出经纬度范围。")
    description = params.get("description", "")
    if len(description) > MAX_DESCRIPTION:
        raise Open311Error(400, f"description 不能超过 {MAX_DESCRIPTION} 个字符（收到 {len(description)} 个）。")
    if "<" in description and re.search(r"<[a-zA-Z/!][^>]*>", description):
        raise Open311Error(400, "description 只能是纯文本，不能含 HTML。")
    media_url = params.get("media_url", "")
    if media_url and (not re.match(r"^https?://[^\s/]+", media_url) or len(media_url) > 500):
        raise Open311Error(400, "media_url 须为 http(s) 地址，且不超过 500 个字符。")
    attributes = _attributes(request)
    case_type = attributes.get("case_type", CaseType.COMPLAINT)
    if case_type not in POST_CASE_TYPES:
        raise Open311Error(400, f"attribute[case_type] 取值无效，可选：{', '.join(POST_CASE_TYPES)}。")
    location_source = "coordinates" if lat is not None else "none"
    coord_system = CoordSystem.WGS84.value
    if lat is None and address:
        point = Mappings.load().point_for(address)
        if point is not None:
            lon, lat, location_source = point.lon, point.lat, "address_mapping"
    name = _full_name(params.get("first_name", ""), params.get("last_name", ""))
    payload = {k: v for k, v in params.items() if k != "api_key" and not k.startswith("attribute[")}
    payload["attributes"] = attributes
    data = CaseInput(
        description=description or f"市民通过 Open311 反映：{category.name}", channel=Channel.OPEN311,
        case_type=case_type, lon=lon, lat=lat, coord_system=coord_system, address=(address or address_id)[:200],
        category=category.code, reporter_name=name[:64], reporter_phone=params.get("phone", "")[:32],
        require_location=False,
    )
    token = secrets.token_hex(8)
    record = {"payload": payload, "original_address": address[:200], "category_mapped": True,
              "location_source": location_source, "media_url": media_url, "token": token}
    api_key = getattr(request, "api_key", None)
    try:
        case, _ = create_external_case(data=data, actor=user, api_key=api_key, source=api_key.name if api_key else "Open311",
                                       record=record)
    except ValidationFailed as exc:
        fields = exc.details if isinstance(exc.details, dict) else {}
        names = {"location": "lat/long", "reporter_phone": "phone", "reporter_name": "first_name/last_name"}
        where = "、".join(names.get(k, k) for k in fields) or "请求"
        raise Open311Error(400, f"{where}：{exc.message}") from None
    limit = sla.stage_limit(category_id=category.pk, urgency=case.urgency, stage="handle", case_type=case.case_type)
    notice = f"已受理，编号 {case.number}；处置时限 {limit.label()}。"
    return render(fmt, "service_requests", [{"service_request_id": case.number, "service_notice": notice,
                                             "account_id": params.get("account_id")}])


# ---------------------------------------------------------------- views


@open311_view("GET")
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    changed = Category.objects.aggregate(last=Max("updated_at"))["last"] or timezone.now()
    base = request.build_absolute_uri(request.path.rsplit("/", 1)[0] + "/")
    return render(fmt, "discovery", {
        "changeset": iso(changed),
        "contact": settings.CITYOPS_OPEN311_CONTACT,
        "key_service": "API 密钥由城运中心系统管理员签发（cityops apikey create）。",
        "endpoints": [{
            "specification": SPECIFICATION, "url": base, "changeset": iso(changed),
            "type": settings.CITYOPS_OPEN311_ENDPOINT_TYPE,
            "formats": ["text/xml", "application/json"],
        }],
    })


@open311_view("GET")
def services(request: HttpRequest, fmt: str) -> HttpResponse:
    return render(fmt, "services", [_service_out(c) for c in _services_qs()])


@open311_view("GET")
def service_definition(request: HttpRequest, fmt: str, code: str) -> HttpResponse:
    category = _leaf(code)
    if category is None:
        raise Open311Error(404, f"service_code {code} 不存在。")
    return render(fmt, "service_definition", _definition(category))


@open311_view("GET", "POST")
def requests(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _create(request, fmt)
    params = _params(request)
    qs, page_size, page = _filtered(params, timezone.now())
    start = (page - 1) * page_size
    extensions = params.get("extensions", "").lower() in ("true", "1")
    return render(fmt, "service_requests", [request_out(request, c, extensions=extensions) for c in qs[start : start + page_size]])


@open311_view("GET")
def request_detail(request: HttpRequest, fmt: str, request_id: str) -> HttpResponse:
    case = _requests_qs().filter(number=request_id).first()
    if case is None:  # not public looks the same as not existing
        raise Open311Error(404, f"service_request_id {request_id} 不存在。")
    extensions = request.GET.get("extensions", "").lower() in ("true", "1")
    return render(fmt, "service_requests", [request_out(request, case, extensions=extensions)])


@open311_view("GET")
def token(request: HttpRequest, fmt: str, token: str) -> HttpResponse:
    case = Case.objects.filter(intake_record__token=token).only("number").first()
    if case is None:
        raise Open311Error(404, f"token {token} 不存在。")
    return render(fmt, "service_requests", [{"service_request_id": case.number, "token": token}])


@csrf_exempt
def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    fmt = "json" if request.path.endswith(".json") else "xml"
    return render(fmt, "errors", [{"code": 404, "description": "资源不存在。GeoReport v2 资源须带 .xml 或 .json 后缀。"}], 404)

