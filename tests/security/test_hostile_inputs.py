"""The hostile-input corpus (tests/corpus/hostile.json) against every form and endpoint that
takes input (等保 2.0 入侵防范 / 数据完整性).

For each payload and each entry point: never a 5xx; a refusal is a clear 4xx and leaves no
case, event or attachment behind (nothing stored half-way); text that is legitimately
acceptable (an XSS string is a valid description) may be stored, and is then shown escaped on
every page and in every API answer, never as live markup.
"""

from __future__ import annotations

import io
import json
import zipfile
from itertools import count
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from cityops.accounts import roles
from cityops.api.tests.keyclient import key_like
from cityops.api.tokens import token_issue
from cityops.cases.models import Attachment, Case, CaseEvent
from cityops.common.ratelimit import DEFAULT_RATES
from tests.security.payloads import zip_bomb as _zip_bomb
from tests.security.world import WEST, World, jpeg_bytes

pytestmark = pytest.mark.django_db

CORPUS = json.loads((Path(__file__).resolve().parents[1] / "corpus" / "hostile.json").read_text(encoding="utf-8"))
TEXT: dict[str, str] = CORPUS["text"]
BYTES: dict[str, bytes] = {name: bytes.fromhex(value) for name, value in CORPUS["bytes"].items()}
COORDINATES: dict[str, str] = CORPUS["coordinates"]
FILENAMES: dict[str, str] = CORPUS["filenames"]
GENERATED = CORPUS["generated"]
RAW_SCRIPT = "<script>alert(1)</script>"
_ips = count(1)


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    # The corpus sends hundreds of requests from one client; the brakes are tested elsewhere.
    settings.CITYOPS_RATE_LIMITS = dict.fromkeys(DEFAULT_RATES)


def rows() -> tuple[int, int, int]:
    return Case.objects.count(), CaseEvent.objects.count(), Attachment.objects.count()


def check(response, before: tuple[int, int, int], what: str, *, must_refuse: bool = False) -> None:
    status = response.status_code
    assert status < 500, f"{what}: server error {status}"
    if must_refuse:
        assert 400 <= status < 500, f"{what}: accepted ({status}), a 4xx was expected"
    if 400 <= status < 500:
        assert rows() == before, f"{what}: refused with {status} but rows were written {before} → {rows()}"


def page_client(user=None) -> Client:
    client = Client(REMOTE_ADDR=f"10.9.{next(_ips) % 250}.{next(_ips) % 250}")
    if user is not None:
        client.force_login(user)
    return client


def bearer(user) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token_issue(user=user).token}"}


def generated_description() -> str:
    spec = GENERATED["description_1mb"]
    return spec["unit"] * spec["times"]


def huge_json() -> bytes:
    return json.dumps({"description": "长" * (GENERATED["huge_json_10mb"]["bytes"] // 3), "type": "complaint"},
                      ensure_ascii=False).encode()


def deep_json() -> bytes:
    depth = GENERATED["deep_nesting"]["depth"]
    return ("[" * depth + "]" * depth).encode()


def deep_object() -> bytes:
    depth = GENERATED["deep_nesting"]["depth"]
    return ('{"description":' * depth + '"x"' + "}" * depth).encode()


# Every text payload plus the generated 1 MB description, as descriptions.
DESCRIPTIONS = {**TEXT, "description_1mb": None}


def _description(name: str) -> str:
    return generated_description() if name == "description_1mb" else DESCRIPTIONS[name]


# ---------------------------------------------------------------- entry points taking a description


def citizen_report(world: World, text: str, **extra):
    data = {"case_type": "complaint", "description": text, "address": text[:200], "lon": WEST[0], "lat": WEST[1],
            "coord_system": "wgs84", "reporter_name": text[:32], "reporter_phone": "", **extra}
    return page_client().post(reverse("intake:report"), data)


def inspector_report(world: World, text: str, **extra):
    data = {"category": "E9901", "description": text, "address": text[:200], "lon": WEST[0], "lat": WEST[1],
            "coord_system": "wgs84", "photo": SimpleUploadedFile("p.jpg", jpeg_bytes(), content_type="image/jpeg"), **extra}
    return page_client(world.users[roles.INSPECTOR]).post(reverse("intake:inspector_home"), data)


def operator_intake(world: World, text: str, **extra):
    data = {"channel": "hotline", "case_type": "complaint", "title": text[:120], "description": text, "address": text[:200],
            "lon": WEST[0], "lat": WEST[1], "coord_system": "wgs84", "category": "E9901", "reporter_name": text[:64],
            "reporter_phone": "13812341234", **extra}
    return page_client(world.users[roles.OPERATOR]).post(reverse("cases:desk_operator"), data)


def case_action_urge(world: World, text: str, **extra):
    case = Case.objects.get(pk=world.case_a.pk)
    data = {"version": case.version, "note": text, **extra}
    return page_client(world.users[roles.DISPATCHER]).post(reverse("cases:action", args=[case.number, "urge"]), data)


def case_action_return(world: World, text: str, **extra):
    case = Case.objects.get(pk=world.case_a.pk)
    data = {"version": case.version, "note": text, "reason": "other", **extra}
    return page_client(world.users[roles.DEPARTMENT]).post(reverse("cases:action", args=[case.number, "return"]), data)


def api_case_create(world: World, text: str, **extra):
    body = {"type": "complaint", "description": text, "title": text[:120], "address": text[:200], "lon": WEST[0],
            "lat": WEST[1], "category": "E9901", **extra}
    return Client().post("/api/v1/cases", json.dumps(body, ensure_ascii=False), content_type="application/json",
                         **bearer(world.users[roles.SYSTEM]))


def api_action_note(world: World, text: str, **extra):
    return Client().post(f"/api/v1/cases/{world.case_a.number}/actions/urge", json.dumps({"note": text, **extra}),
                         content_type="application/json", **bearer(world.users[roles.DISPATCHER]))


def city_ingest(world: World, text: str, **extra):
    body = {"order_no": f"C{next(_ips)}", "description": text, "title": text[:120], "category": text[:200],
            "address": text[:200], "lon": WEST[0], "lat": WEST[1], **extra}
    return Client().post("/api/v1/intake/city", json.dumps(body, ensure_ascii=False), content_type="application/json",
                         **bearer(world.users[roles.SYSTEM]))


def _open311(world: World, fmt: str, text: str, **extra):
    key = key_like(world.users[roles.SYSTEM], f"open311-{next(_ips)}").key
    data = {"api_key": key, "service_code": "E9901", "lat": WEST[1], "long": WEST[0], "description": text,
            "address_string": text[:200], "first_name": text[:30], **extra}
    return Client().post(f"/open311/v2/requests.{fmt}", data)


def open311_json(world: World, text: str, **extra):
    return _open311(world, "json", text, **extra)


def open311_xml(world: World, text: str, **extra):
    return _open311(world, "xml", text, **extra)


WRITERS = {f.__name__: f for f in (citizen_report, inspector_report, operator_intake, case_action_urge, case_action_return,
                                   api_case_create, api_action_note, city_ingest, open311_json, open311_xml)}


# Where the text goes into a required description (an action's note and an Open311 description are optional).
DESCRIPTION_REQUIRED = {"citizen_report", "inspector_report", "operator_intake", "api_case_create", "city_ingest"}


@pytest.mark.parametrize("writer", list(WRITERS))
def test_every_text_payload_is_stored_as_text_or_refused_cleanly(world, writer):
    for name in DESCRIPTIONS:
        before = rows()
        text = _description(name)
        response = WRITERS[writer](world, text)
        refuse = name == "description_1mb" or (name == "only_whitespace" and writer in DESCRIPTION_REQUIRED)
        check(response, before, f"{writer} × {name}", must_refuse=refuse)
        if name == "null_byte_middle" and response.status_code < 400:
            assert not Case.objects.filter(description__contains="\x00").exists(), f"{writer} stored a NUL byte"


@pytest.mark.parametrize("writer", ["citizen_report", "inspector_report", "operator_intake"])
def test_bad_coordinates_on_forms_are_refused_with_nothing_stored(world, writer):
    for name, value in COORDINATES.items():
        for field in ("lon", "lat"):
            before = rows()
            check(WRITERS[writer](world, "坐标测试：井盖缺失", **{field: value}), before, f"{writer} {field}={name}", must_refuse=True)


@pytest.mark.parametrize("writer", ["api_case_create", "city_ingest"])
def test_bad_coordinates_in_json_are_refused_with_nothing_stored(world, writer):
    # Python's json accepts the NaN / Infinity tokens and turns 1e309 into inf: all must be refused.
    for raw in ("NaN", "Infinity", "-Infinity", "1e309", "-1e309", "181", "-91", '"东经"'):
        before = rows()
        body = {"type": "complaint", "description": "坐标测试", "order_no": f"X{next(_ips)}", "lat": WEST[1], "category": "E9901"}
        payload = json.dumps(body).replace('"lat":', f'"lon": {raw}, "lat":')
        path = "/api/v1/cases" if writer == "api_case_create" else "/api/v1/intake/city"
        response = Client().post(path, payload, content_type="application/json", **bearer(world.users[roles.SYSTEM]))
        check(response, before, f"{writer} lon={raw}", must_refuse=True)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_coordinates_on_open311_are_refused_with_nothing_stored(world, fmt):
    for name, value in COORDINATES.items():
        before = rows()
        check(_open311(world, fmt, "坐标测试", lat=value), before, f"open311.{fmt} lat={name}", must_refuse=True)


@pytest.mark.parametrize("path", ["/api/v1/cases", "/api/v1/intake/city", "/api/v1/intake/alarm", "/api/v1/routing/predict",
                                  f"/api/v1/cases/{'CD20990101-0001'}/actions/urge"])
def test_malformed_json_bodies_are_a_clear_4xx(world, path):
    user = world.users[roles.SYSTEM] if "intake" in path or path == "/api/v1/cases" else world.users[roles.DISPATCHER]
    bodies = {"huge_json_10mb": huge_json(), "deep_array": deep_json(), "deep_object": deep_object(),
              **{f"bytes_{name}": b'{"description": "' + raw + b'"}' for name, raw in BYTES.items()},
              "truncated": b'{"description": "x', "not_json": b"<xml/>", "empty": b""}
    for name, body in bodies.items():
        before = rows()
        response = Client().post(path, body, content_type="application/json", **bearer(user))
        check(response, before, f"{path} {name}", must_refuse=True)
        assert response["Content-Type"].startswith("application/json"), f"{path} {name}: {response['Content-Type']}"


@pytest.mark.parametrize("writer", ["citizen_report", "operator_intake"])
def test_invalid_utf8_in_form_bodies_never_breaks_a_form(world, writer):
    url = reverse("intake:report") if writer == "citizen_report" else reverse("cases:desk_operator")
    client = page_client(world.users[roles.OPERATOR] if writer == "operator_intake" else None)
    for name, raw in BYTES.items():
        before = rows()
        body = b"description=" + b"".join(b"%%%02X" % b for b in raw) + b"&lon=101.805&lat=36.61&case_type=complaint&channel=hotline"
        response = client.post(url, body, content_type="application/x-www-form-urlencoded")
        check(response, before, f"{writer} bytes {name}")


def test_track_page_answers_every_payload_with_a_4xx(world):
    for name, text in {**TEXT, **{f"bytes_{k}": v.decode("latin-1") for k, v in BYTES.items()}}.items():
        response = page_client().get(reverse("intake:track"), {"code": text})
        assert response.status_code in (400, 404), f"track {name}: {response.status_code}"
        assert RAW_SCRIPT not in response.content.decode()


def test_login_refuses_every_payload_without_signing_in(world):
    for name, text in TEXT.items():
        client = page_client()
        response = client.post(reverse("web:login"), {"username": text, "password": text})
        assert response.status_code in (200, 400, 403, 429), f"login {name}: {response.status_code}"
        assert "_auth_user_id" not in client.session, f"login {name} signed in"
        assert RAW_SCRIPT not in response.content.decode()
    response = Client().post("/api/v1/auth/token", json.dumps({"username": TEXT["sqli_or_true"], "password": TEXT["sqli_comment"]}),
                             content_type="application/json")
    assert response.status_code == 401


# ---------------------------------------------------------------- uploads (files generated here)


def _gif_js_polyglot() -> bytes:
    return b"GIF89a/*\x01\x00\x01\x00\x00\xff\x00,*/=1;alert(document.domain);//" + b"\x00" * 16 + b";"


def _jpeg_zip_polyglot() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.html", "<script>alert(1)</script>")
    return jpeg_bytes() + buffer.getvalue()


# A JPEG with a zip appended is a valid JPEG (phones append trailers too): it may be accepted,
# but only as a re-encoded picture, with the appended archive gone (see the test below).
REENCODED_POLYGLOTS = {"jpeg_zip_polyglot.jpg"}

HOSTILE_FILES = {
    "zip_bomb.xlsx": (_zip_bomb, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "polyglot.gif": (_gif_js_polyglot, "image/gif"),
    "jpeg_zip_polyglot.jpg": (_jpeg_zip_polyglot, "image/jpeg"),
    "script.svg": (lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "image/svg+xml"),
    "text_renamed.jpg": (lambda: b"just some text, not a picture\n" * 10, "image/jpeg"),
}


def _upload(name: str) -> SimpleUploadedFile:
    make, content_type = HOSTILE_FILES[name]
    return SimpleUploadedFile(name, make(), content_type=content_type)


@pytest.mark.parametrize("name", sorted(set(HOSTILE_FILES) - REENCODED_POLYGLOTS))
@pytest.mark.parametrize("writer", ["citizen_report", "inspector_report"])
def test_hostile_photo_is_refused_with_a_4xx_and_no_case(world, writer, name):
    before = rows()
    response = WRITERS[writer](world, "附件测试：井盖缺失", photo=_upload(name))
    check(response, before, f"{writer} photo {name}", must_refuse=True)


@pytest.mark.parametrize("writer", ["citizen_report", "inspector_report"])
def test_a_jpeg_zip_polyglot_is_stored_only_as_a_reencoded_picture(world, writer):
    before, last = rows(), Attachment.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    response = WRITERS[writer](world, "附件测试：拼接文件", photo=_upload("jpeg_zip_polyglot.jpg"))
    check(response, before, f"{writer} photo jpeg+zip")
    stored = Attachment.objects.filter(pk__gt=last)
    assert stored.exists() or response.status_code >= 400
    for attachment in stored:
        # An inspector's private original is kept byte for byte as evidence (cases.services.attachment_add);
        # what anyone else is ever shown is the re-encoded copy.
        files = [attachment.public_file] if attachment.gps is not None or writer == "inspector_report" else [attachment.file, attachment.public_file]
        for file in files:
            with file.open("rb") as fh:
                data = fh.read()
            assert b"PK\x03\x04" not in data and b"<script>" not in data, f"{writer}: {file.name} keeps the appended archive"


@pytest.mark.parametrize("name", list(HOSTILE_FILES))
def test_hostile_verification_photo_is_refused_and_the_case_stays_responded(world, name):
    case = Case.objects.get(pk=world.case_responded.pk)
    before = rows()
    response = page_client(world.users[roles.INSPECTOR]).post(
        reverse("intake:inspector_task", args=[case.number]),
        {"version": case.version, "passed": "true", "note": "核查", "photo": _upload(name)},
    )
    check(response, before, f"verify photo {name}", must_refuse=True)
    assert Case.objects.get(pk=case.pk).status == case.status


def test_a_legitimate_photo_with_a_hostile_file_name_is_stored_under_our_own_name(world):
    for label, filename in FILENAMES.items():
        before = rows()
        response = citizen_report(world, f"文件名测试 {label}", photo=SimpleUploadedFile(filename, jpeg_bytes(), content_type="image/jpeg"))
        check(response, before, f"photo named {label}")
        if response.status_code < 400:
            attachment = Attachment.objects.order_by("-id").first()
            for stored in (attachment.file.name, attachment.public_file.name):
                assert ".." not in stored and "\x00" not in stored and not stored.startswith("/"), stored
                assert stored.endswith((".jpg", ".jpeg")), stored


@pytest.mark.parametrize("name", list(HOSTILE_FILES))
def test_hostile_import_file_is_refused_with_a_4xx_and_no_case(world, name):
    before = rows()
    response = page_client(world.users[roles.OPERATOR]).post(reverse("intake:import"), {"file": _upload(name)})
    check(response, before, f"import {name}", must_refuse=True)


def test_import_file_names_with_traversal_or_nul_are_refused_or_ignored(world):
    for label, filename in FILENAMES.items():
        before = rows()
        upload = SimpleUploadedFile(filename.replace(".jpg", ".csv"), "描述\n井盖缺失\n".encode(), content_type="text/csv")
        response = page_client(world.users[roles.OPERATOR]).post(reverse("intake:import"), {"file": upload, "dry_run": "on"})
        check(response, before, f"import named {label}")


# ---------------------------------------------------------------- stored text is shown escaped

XSS = {name: TEXT[name] for name in ("xss_script", "xss_img_onerror", "xss_svg_onload", "xss_closing_textarea")}
LIVE_MARKUP = ("<script>alert(1)", "<img src=x onerror", "<svg/onload", "</textarea><script>")


def _no_live_markup(body: str, where: str) -> None:
    for needle in LIVE_MARKUP:
        assert needle not in body, f"{where} renders {needle!r} unescaped"


def test_xss_descriptions_are_stored_as_text_and_rendered_escaped_everywhere(world):
    system, operator = world.users[roles.SYSTEM], world.users[roles.OPERATOR]
    numbers = []
    for name, text in XSS.items():
        response = api_case_create(world, text, address=text, reporter_name=text[:64])
        assert response.status_code == 201, (name, response.content)
        numbers.append(response.json()["number"])
        assert Case.objects.get(number=numbers[-1]).description == text  # stored verbatim, as text
    citizen = citizen_report(world, XSS["xss_script"])
    assert citizen.status_code == 302
    tracked = Case.objects.get(description=XSS["xss_script"], channel="web")

    pages = page_client(operator)
    for number in numbers:
        _no_live_markup(pages.get(reverse("cases:detail", args=[number])).content.decode(), f"detail {number}")
        assert "&lt;" in pages.get(reverse("cases:detail", args=[number])).content.decode()
    _no_live_markup(pages.get(reverse("cases:list")).content.decode(), "case list")
    _no_live_markup(pages.get(reverse("cases:list"), {"q": "alert"}).content.decode(), "case search")
    _no_live_markup(pages.get(reverse("cases:desk_operator")).content.decode(), "operator desk")
    _no_live_markup(page_client().get(reverse("intake:track"), {"code": tracked.tracking_code}).content.decode(), "track page")

    api = Client()
    for path in ("/api/v1/cases?page_size=100", f"/api/v1/cases/{numbers[0]}", f"/api/v1/cases/{numbers[0]}/events"):
        body = api.get(path, **bearer(system)).content.decode()
        _no_live_markup(body, path)
    listed = api.get("/api/v1/cases?page_size=100", **bearer(system)).json()["results"]
    assert XSS["xss_script"] in {c["description"] for c in listed}  # the client still reads the exact text

    for fmt in ("json", "xml"):
        for path in (f"/open311/v2/requests.{fmt}", f"/open311/v2/requests/{numbers[0]}.{fmt}"):
            _no_live_markup(api.get(path).content.decode(), path)
    export = pages.get(reverse("intake:case_export", args=["csv"]))
    assert export.status_code == 200
