"""Open311 publishes only what is public (issue 14, finding 7): without login, and with any
api_key, `GET requests` shows registered cases of publishable categories and channels only,
with the description redacted, citizens' points rounded, no department and never a photo's
EXIF position; a case that is not public is a 404 in the spec's error format."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from cityops.api.keys import apikey_issue
from cityops.api.tests.open311_shapes import check_json, check_xml
from cityops.cases.models import Attachment, AttachmentKind, Case
from cityops.cases.tests.factories import LeafCategoryFactory, make_case
from cityops.cases.workflow import case_transition
from cityops.catalog.models import NOT_PUBLISHABLE_CODES, Category
from cityops.testing.square import INSIDE

pytestmark = pytest.mark.django_db
BASE = "/open311/v2"
# A point with more decimals than is ever published, inside the test district.
EXACT = {"lon": 101.785432, "lat": 36.625678}


@pytest.fixture
def web():
    return Client()


def listed(web, **params) -> dict[str, dict]:
    items = check_json("service_requests", web.get(f"{BASE}/requests.json", params).content)
    return {item["service_request_id"]: item for item in items}


def detail(web, number: str, fmt: str = "json"):
    return web.get(f"{BASE}/requests/{number}.{fmt}")


def registered(people, category, **kwargs) -> Case:
    """A case as the operator leaves it after 立案."""
    case = make_case(category=category, **kwargs)
    return case_transition(case=case, action="register", actor=people["operator"])


def assert_not_public(web, case: Case) -> None:
    assert case.number not in listed(web)
    assert case.number not in listed(web, service_request_id=case.number)
    for fmt in ("json", "xml"):
        response = detail(web, case.number, fmt)
        assert response.status_code == 404, (fmt, response.content)
        errors = check_json("errors", response.content) if fmt == "json" else check_xml("errors", response.content)
        assert str(errors[0]["code"]) == "404" and case.number in errors[0]["description"]


# ---------------------------------------------------------------- which cases


def test_a_registered_citizen_case_is_published(web, people, category):
    case = registered(people, category)
    assert set(listed(web)) == {case.number}
    got = check_json("service_requests", detail(web, case.number).content)
    assert got[0]["service_request_id"] == case.number and got[0]["status_notes"] == "已立案"


def test_an_unreviewed_case_is_not_published(web, category):
    assert_not_public(web, make_case(category=category))


def test_a_rejected_case_is_not_published(web, people, category):
    case = case_transition(case=make_case(category=category), action="reject", actor=people["operator"],
                           data={"note": "不属于受理范围"})
    assert_not_public(web, case)


def test_a_directly_answered_case_that_was_never_registered_is_not_published(web, people, category):
    case = case_transition(case=make_case(category=category), action="answer", actor=people["operator"],
                           data={"answer": "已电话答复"})
    assert_not_public(web, case)


def test_a_merged_duplicate_is_not_published_but_its_master_is(web, people, category):
    master = registered(people, category)
    duplicate = case_transition(case=registered(people, category), action="merge", actor=people["operator"],
                                data={"master": master.number})
    assert duplicate.master_id == master.pk
    assert_not_public(web, duplicate)
    assert set(listed(web)) == {master.number}


def test_an_inspector_case_is_never_published_even_when_the_setting_lists_the_channel(web, people, category, settings):
    settings.CITYOPS_OPEN311_CHANNELS = ["hotline", "inspector"]
    assert_not_public(web, registered(people, category, channel="inspector"))


def test_a_channel_left_out_of_the_setting_is_not_published(web, people, category, settings):
    iot = registered(people, category, channel="iot")  # not in the default list
    assert_not_public(web, iot)
    settings.CITYOPS_OPEN311_CHANNELS = ["web"]
    assert_not_public(web, registered(people, category, channel="hotline"))
    settings.CITYOPS_OPEN311_CHANNELS = ["web", "iot"]
    assert iot.number in listed(web)


def test_a_report_against_someone_is_not_published(web, people, category):
    assert_not_public(web, registered(people, category, case_type="report", description="举报某店铺老板占道经营"))


def test_a_case_of_a_non_publishable_category_is_not_published(web, people, category):
    case = registered(people, category)
    Category.objects.filter(pk=category.pk).update(publishable=False)
    assert_not_public(web, case)


def test_a_case_below_a_non_publishable_parent_is_not_published(web, people, category):
    case = registered(people, category)
    Category.objects.filter(pk=category.parent_id).update(publishable=False)
    assert Category.objects.get(pk=category.pk).publishable is True
    assert_not_public(web, case)


def test_an_api_key_does_not_widen_the_view(web, category):
    key = apikey_issue(name="对接系统", role="system").key
    case = make_case(category=category)
    response = web.get(f"{BASE}/requests/{case.number}.json", {"api_key": key})
    assert response.status_code == 404
    assert check_json("service_requests", web.get(f"{BASE}/requests.json", HTTP_X_API_KEY=key).content) == []


# ---------------------------------------------------------------- which services


def test_services_list_only_publishable_categories_under_publishable_parents(web, category):
    hidden_leaf = LeafCategoryFactory(code="E9902", name="不公开小类")
    Category.objects.filter(pk=hidden_leaf.pk).update(publishable=False)
    closed_group = Category.objects.create(code="E98", name="不公开大类", system="urban", kind="event", level=1, publishable=False)
    LeafCategoryFactory(code="E9801", name="其下小类", parent=closed_group)
    codes = [s["service_code"] for s in check_json("services", web.get(f"{BASE}/services.json").content)]
    assert codes == [category.code]
    for code in ("E9902", "E9801"):
        assert web.get(f"{BASE}/services/{code}.json").status_code == 404


def test_a_post_to_a_category_that_is_not_listed_is_refused(web, category, district):
    key = apikey_issue(name="市民App", role="system").key
    Category.objects.filter(pk=category.pk).update(publishable=False)
    response = web.post(f"{BASE}/requests.json", {"api_key": key, "service_code": category.code,
                                                  "lat": INSIDE["lat"], "long": INSIDE["lon"]})
    assert response.status_code == 404 and category.code in check_json("errors", response.content)[0]["description"]
    assert not Case.objects.exists()


# ---------------------------------------------------------------- what of a case


def test_the_description_masks_phone_id_card_and_the_reporters_name(web, people, category):
    case = registered(people, category, reporter_name="王小明", reporter_phone="13512345678",
                      description="我是王小明，身份证 11010519491231002X，电话 13512345678，邻居王先生也知道")
    body = detail(web, case.number).content.decode()
    got = check_json("service_requests", body.encode())[0]
    assert got["description"] == "我是**，身份证 110105********002X，电话 135****5678，邻居**先生也知道"
    for private in ("王小明", "11010519491231002X", "13512345678", "王先生"):
        assert private not in body


def test_the_description_hides_building_unit_and_room_numbers(web, people, category):
    case = registered(people, category, description="我家住东关大街 12 号 3 单元 502 室，5号楼楼下垃圾没人清，二层也有")
    got = listed(web)[case.number]
    assert got["description"] == "我家住东关大街 12 号 * 单元 * 室，*号楼楼下垃圾没人清，*层也有"


def test_the_answer_in_status_notes_is_redacted_too(web, people, category):
    case = registered(people, category, reporter_name="李四")
    Case.objects.filter(pk=case.pk).update(status="closed", closed_at=timezone.now(),
                                           result="已联系李四（13900001111）并清理完毕")
    notes = listed(web)[case.number]["status_notes"]
    assert notes == "已办结：已联系**（139****1111）并清理完毕"


def test_a_citizens_point_is_rounded(web, people, category, district):
    case = registered(people, category, **EXACT)
    got = listed(web)[case.number]
    assert (got["lat"], got["long"]) == (36.626, 101.785)


def test_the_rounding_follows_the_setting(web, people, category, district, settings):
    settings.CITYOPS_OPEN311_COORD_DECIMALS = 2
    case = registered(people, category, **EXACT)
    got = listed(web)[case.number]
    assert (got["lat"], got["long"]) == (36.63, 101.79)


def test_bbox_filters_on_the_rounded_point_so_it_cannot_narrow_it_down(web, people, category, district):
    case = registered(people, category, **EXACT)
    around_exact = f"{EXACT['lon'] - 0.0001},{EXACT['lat'] - 0.0001},{EXACT['lon'] + 0.0001},{EXACT['lat'] + 0.0001}"
    assert listed(web, bbox=around_exact) == {}
    assert case.number in listed(web, bbox="101.7849,36.6259,101.7851,36.6261")


def test_a_citizens_typed_address_is_replaced_by_street_and_community(web, people, category, district):
    case = registered(people, category, address="东关大街 12 号 3 单元 502 室", **EXACT)
    got = listed(web, extensions="true")[case.number]
    assert got["address"] == "东关大街街道 北关社区"
    assert got["extended_attributes"]["grid"] == "" and got["extended_attributes"]["community"] == "北关社区"


def test_no_department_unless_the_setting_allows_it(web, people, category, department, settings):
    case = case_transition(case=registered(people, category), action="dispatch", actor=people["dispatcher"],
                           data={"department": department.code})
    assert "agency_responsible" not in listed(web)[case.number]
    body = detail(web, case.number, "xml").content.decode()
    assert "agency_responsible" not in body and department.name not in body
    settings.CITYOPS_OPEN311_SHOW_DEPARTMENT = True
    assert listed(web)[case.number]["agency_responsible"] == department.name


def _photo(case: Case, kind: str, gps: dict | None = None, public: str = "public/x.jpg") -> Attachment:
    return Attachment.objects.create(case=case, kind=kind, file="cases/x.jpg", public_file=public,
                                     content_type="image/jpeg", size=1, gps=gps)


def test_a_point_taken_from_a_photos_exif_is_never_published(web, people, category, district, settings):
    settings.CITYOPS_OPEN311_CHANNELS = ["iot"]  # a channel whose points are published unrounded
    from_photo = registered(people, category, channel="iot", **EXACT)
    _photo(from_photo, AttachmentKind.BEFORE, gps={"lat": from_photo.lat, "lon": from_photo.lon})
    own_point = registered(people, category, channel="iot", **EXACT)
    _photo(own_point, AttachmentKind.VERIFY, gps={"lat": EXACT["lat"] + 0.001, "lon": EXACT["lon"]})
    got = listed(web)
    assert (got[from_photo.number]["lat"], got[from_photo.number]["long"]) == (None, None)
    assert (got[own_point.number]["lat"], got[own_point.number]["long"]) == (own_point.lat, own_point.lon)
    assert str(from_photo.lat) not in detail(web, from_photo.number, "xml").content.decode()
    assert from_photo.number not in listed(web, bbox="101.7,36.6,101.8,36.7")


def test_only_after_processing_photos_are_linked(web, people, category):
    case = registered(people, category)
    _photo(case, AttachmentKind.BEFORE, public="public/before.jpg")
    assert listed(web)[case.number]["media_url"] is None
    _photo(case, AttachmentKind.AFTER, public="public/after.jpg")
    assert listed(web)[case.number]["media_url"].endswith("/public/after.jpg")


def test_integration_md_lists_the_categories_that_start_unpublished():
    text = (Path(__file__).resolve().parents[4] / "docs" / "integration.md").read_text(encoding="utf-8")
    table = text.split("**Which categories start unpublished.**", 1)[1].split("**What of a case.**", 1)[0]
    assert dict(re.findall(r"\b([PEH]\d{4,6}) (\S+?)(?=,| \|)", table)) == NOT_PUBLISHABLE_CODES
