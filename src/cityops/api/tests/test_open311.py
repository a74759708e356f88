"""Open311 GeoReport v2 at /open311/v2/: every resource in XML and JSON with the spec's
shapes, api_key on POST, the 400/403/404 error envelope, filters and the default window,
our states as open/closed, and no personal data in anything public. Which cases are public
and what of them is published: test_open311_public.py."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from cityops.api import open311
from cityops.api.keys import apikey_issue
from cityops.api.models import ApiCallLog
from cityops.api.tests.open311_shapes import check_json, check_xml
from cityops.cases.models import Case, CaseEvent
from cityops.cases.tests.factories import LeafCategoryFactory, make_case
from cityops.cases.workflow import case_transition
from cityops.catalog.models import Category
from cityops.intake.models import IntakeRecord
from cityops.testing.square import INSIDE, OUTSIDE

pytestmark = pytest.mark.django_db
BASE = "/open311/v2"


@pytest.fixture
def key(db):
    return apikey_issue(name="市民App", role="system").key


@pytest.fixture
def web():
    return Client()


def post(web, fmt="json", **fields):
    return web.post(f"{BASE}/requests.{fmt}", fields)


def report(key, category, **overrides):
    body = {"api_key": key, "service_code": category.code, "lat": INSIDE["lat"], "long": INSIDE["lon"],
            "address_string": "东关大街 12 号", "description": "路边垃圾桶满溢，联系电话 13812345678",
            "first_name": "三", "last_name": "张", "phone": "13812341234", "email": "zhang@example.com",
            "media_url": "https://img.example.com/a.jpg"}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def test_discovery_in_both_formats(web, category):
    data = check_json("discovery", web.get(f"{BASE}/discovery.json").content)
    assert data["endpoints"][0]["url"].endswith("/open311/v2/")
    assert data["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    response = web.get(f"{BASE}/discovery.xml")
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    xml = check_xml("discovery", response.content)
    assert xml["endpoints"][0]["formats"] == ["text/xml", "application/json"]


def test_services_are_our_active_leaf_categories(web, category):
    LeafCategoryFactory(code="E9902", name="乱堆物料", keywords="堆物 杂物")
    Category.objects.create(code="E9903", name="停用", system="urban", kind="event", level=2, parent=category.parent, active=False)
    response = web.get(f"{BASE}/services.json")
    assert response["Content-Type"] == "application/json; charset=utf-8"
    services = check_json("services", response.content)
    assert [s["service_code"] for s in services] == ["E9901", "E9902"]
    assert services[1] == {"service_code": "E9902", "service_name": "乱堆物料", "description": "测试大类 - 乱堆物料",
                           "metadata": True, "type": "realtime", "keywords": "堆物,杂物", "group": "测试大类"}
    xml = check_xml("services", web.get(f"{BASE}/services.xml").content)
    assert [s["service_code"] for s in xml] == ["E9901", "E9902"] and xml[0]["metadata"] == "true"


def test_service_definition_and_unknown_codes(web, category):
    Category.objects.filter(pk=category.pk).update(register_condition="垃圾堆放超过 1 立方米")
    definition = check_json("service_definition", web.get(f"{BASE}/services/{category.code}.json").content)
    case_type = definition["attributes"][0]
    assert case_type["code"] == "case_type" and case_type["datatype"] == "singlevaluelist"
    assert {"key": "complaint", "name": "投诉"} in case_type["values"]
    assert definition["attributes"][1]["variable"] is False and "1 立方米" in definition["attributes"][1]["description"]
    check_xml("service_definition", web.get(f"{BASE}/services/{category.code}.xml").content)
    for fmt in ("json", "xml"):
        response = web.get(f"{BASE}/services/E9.{fmt}")
        assert response.status_code == 404
        errors = check_json("errors", response.content) if fmt == "json" else check_xml("errors", response.content)
        assert str(errors[0]["code"]) == "404"
    assert web.get(f"{BASE}/services/{category.parent.code}.json").status_code == 404  # a 大类 is no service


def test_post_with_an_api_key_creates_a_case_and_reads_back_without_personal_data(web, key, category, district, people):
    response = post(web, **report(key, category))
    assert response.status_code == 200, response.content
    posted = check_json("service_requests", response.content)
    number = posted[0]["service_request_id"]
    assert "处置时限" in posted[0]["service_notice"]
    case = Case.objects.get(number=number)
    assert case.channel == "open311" and case.category == category and case.grid_id == district["grid"].pk
    assert case.reporter_name == "张三" and case.reporter_phone == "13812341234"
    assert CaseEvent.objects.get(case=case).actor_label == "市民App"
    record = IntakeRecord.objects.get(case=case)
    assert record.media_url == "https://img.example.com/a.jpg" and "api_key" not in record.payload
    assert ApiCallLog.objects.filter(key_name="市民App", method="POST", status_code=200).count() == 1

    assert web.get(f"{BASE}/requests/{number}.json").status_code == 404  # public only once registered
    case_transition(case=case, action="register", actor=people["operator"])
    for fmt in ("json", "xml"):
        body = web.get(f"{BASE}/requests/{number}.{fmt}").content
        got = check_json("service_requests", body) if fmt == "json" else check_xml("service_requests", body)
        assert len(got) == 1 and got[0]["service_request_id"] == number and got[0]["status"] == "open"
        # the reporter's own link is not republished (it may lead to them)
        assert not got[0]["media_url"] and got[0]["status_notes"] == "已立案"
        text = body.decode()
        for secret in ("13812341234", "13812345678", "张", "zhang@example.com", key):
            assert secret not in text, secret
        assert "138****5678" in text
    token = record.token
    tokens = check_json("service_requests", web.get(f"{BASE}/tokens/{token}.json").content)
    assert tokens == [{"service_request_id": number, "token": token}]
    check_xml("service_requests", web.get(f"{BASE}/tokens/{token}.xml").content)
    assert web.get(f"{BASE}/tokens/nope.json").status_code == 404


def test_post_as_xml_with_address_only_and_attributes(web, key, category, district):
    response = post(web, "xml", **report(key, category, lat=None, long=None, **{"attribute[case_type]": "help"}))
    assert response.status_code == 200, response.content
    number = check_xml("service_requests", response.content)[0]["service_request_id"]
    case = Case.objects.get(number=number)
    assert case.case_type == "help" and case.lon is None and case.address == "东关大街 12 号"


@pytest.mark.parametrize(
    ("change", "status", "code", "words"),
    [
        ({"api_key": None}, 403, 403, "api_key"),
        ({"api_key": "cok_123456789abc_wrong"}, 403, 403, "api_key"),
        ({"service_code": None}, 400, 400, "service_code"),
        ({"service_code": "X0000"}, 404, 404, "X0000"),
        ({"lat": None, "long": None, "address_string": None}, 400, 400, "位置"),
        ({"long": None}, 400, 400, "lat 和 long"),
        ({"lat": "north"}, 400, 400, "lat"),
        ({"lat": OUTSIDE["lat"], "long": OUTSIDE["lon"]}, 400, 400, "不在本辖区"),
        ({"description": "长" * 4001}, 400, 400, "4000"),
        ({"description": "<script>alert(1)</script>"}, 400, 400, "HTML"),
        ({"media_url": "javascript:alert(1)"}, 400, 400, "media_url"),
        ({"attribute[case_type]": "rant"}, 400, 400, "case_type"),
        ({"phone": "call me"}, 400, 400, "phone"),
        ({"jurisdiction_id": "other.city"}, 404, 404, "jurisdiction_id"),
    ],
)
def test_post_errors_use_the_spec_envelope_and_write_nothing(web, key, category, district, change, status, code, words):
    fields = report(key, category)
    for name, value in change.items():
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    for fmt in ("json", "xml"):
        response = post(web, fmt, **fields)
        assert response.status_code == status, response.content
        errors = check_json("errors", response.content) if fmt == "json" else check_xml("errors", response.content)
        assert str(errors[0]["code"]) == str(code) and words in errors[0]["description"], errors
    assert not Case.objects.exists()


def test_bad_bodies_and_methods(web, key, category, district):
    response = web.post(f"{BASE}/requests.json", {"api_key": key}, content_type="application/json")
    assert response.status_code == 400 and check_json("errors", response.content)[0]["code"] == 415
    big = "x" * (open311.MAX_POST_BYTES + 10)
    response = web.post(f"{BASE}/requests.json", f"api_key={key}&description={big}", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and check_json("errors", response.content)[0]["code"] == 413
    response = web.put(f"{BASE}/requests.json")
    assert response.status_code == 400 and check_json("errors", response.content)[0]["code"] == 405
    response = web.post(f"{BASE}/services.json")
    assert response.status_code == 400
    assert web.get(f"{BASE}/requests.html").status_code == 404
    response = web.get(f"{BASE}/nothing/here.json")
    assert response.status_code == 404 and check_json("errors", response.content)[0]["code"] == 404
    check_xml("errors", web.get(f"{BASE}/nothing").content)
    assert not Case.objects.exists()


def _case(category, *, days_ago: float = 0, **kwargs):
    """A registered (立案) case, the earliest state Open311 publishes."""
    case = make_case(category=category, **kwargs)
    fields = {"status": "registered", "registered_at": timezone.now()}
    if days_ago:
        fields["created_at"] = timezone.now() - timedelta(days=days_ago)
    Case.objects.filter(pk=case.pk).update(**fields)
    return Case.objects.get(pk=case.pk)


def test_list_filters_window_and_status_mapping(web, category, people, department, settings):
    other = LeafCategoryFactory(code="E9902")
    new = _case(category, description="新的")
    old = _case(category, days_ago=100, description="一百天前")
    closed = _case(other, description="已办结的")
    Case.objects.filter(pk=closed.pk).update(status="closed", closed_at=timezone.now(), result="已处理 电话 13900001111")
    dispatched = case_transition(case=_case(category), action="dispatch", actor=people["dispatcher"],
                                 data={"department": department.code})
    settings.CITYOPS_OPEN311_SHOW_DEPARTMENT = True

    def ids(fmt="json", **params):
        body = web.get(f"{BASE}/requests.{fmt}", params).content
        items = check_json("service_requests", body) if fmt == "json" else check_xml("service_requests", body)
        return {r["service_request_id"]: r for r in items}

    everything = ids()
    assert set(everything) == {new.number, closed.number, dispatched.number}  # default: the last 90 days
    assert everything[closed.number]["status"] == "closed" and "13900001111" not in everything[closed.number]["status_notes"]
    assert everything[closed.number]["expected_datetime"] is None
    assert everything[dispatched.number]["agency_responsible"] == department.name
    assert everything[dispatched.number]["expected_datetime"]
    assert set(ids("xml")) == set(everything)
    assert set(ids(status="closed")) == {closed.number}
    assert set(ids(status="open")) == {new.number, dispatched.number}
    assert set(ids(status="open,closed", service_code="E9902")) == {closed.number}
    assert set(ids(service_request_id=f"{old.number},{new.number}", status="closed")) == {old.number, new.number}
    start = (timezone.now() - timedelta(days=120)).isoformat()
    end = (timezone.now() - timedelta(days=95)).isoformat()
    assert set(ids(start_date=start, end_date=end)) == {old.number}
    assert set(ids(start_date=start[:10])) == {old.number}  # a start alone means the 90 days after it
    assert set(ids(start_date="", status="")) == set(everything)  # empty parameters count as absent
    assert set(ids(updated_after=(timezone.now() - timedelta(hours=1)).isoformat())) == set(everything) | {old.number}
    assert len(ids(page_size=2)) == 2 and len(ids(page_size=2, page=2)) == 1
    extended = ids(extensions="true")[dispatched.number]["extended_attributes"]
    assert extended["channel"] == "hotline" and extended["duplicate"] is False

    for params, words in [({"start_date": start, "end_date": timezone.now().isoformat()}, "90"),
                          ({"start_date": "yesterday"}, "start_date"), ({"status": "pending"}, "status"),
                          ({"start_date": end, "end_date": start}, "end_date"), ({"page_size": "0"}, "page_size")]:
        response = web.get(f"{BASE}/requests.json", params)
        assert response.status_code == 400, params
        assert words in check_json("errors", response.content)[0]["description"]


def test_the_default_answer_is_capped(web, category, monkeypatch):
    for i in range(3):
        _case(category, description=f"第{i}件")
    monkeypatch.setattr(open311, "MAX_RESULTS", 2)
    assert len(check_json("service_requests", web.get(f"{BASE}/requests.json").content)) == 2
    assert web.get(f"{BASE}/requests.json", {"page_size": 3}).status_code == 400


def test_public_text_masks_personal_data_and_reports_are_never_published(web, category):
    text = open311.public_text("张三 13812345678，座机 0971-8123456，身份证 11010519491231002X，邮箱 a.b@c.cn", name="张三")
    assert text == "** 138****5678，座机 097****3456，身份证 110105********002X，邮箱 a***@c.cn"
    hidden = _case(category, description="举报某店铺占道经营 老板电话 13700001111", case_type="report")
    assert web.get(f"{BASE}/requests/{hidden.number}.json").status_code == 404
    assert web.get(f"{BASE}/requests/CD19990101-0001.json").status_code == 404
    odd = _case(category, description="复制来的文字\x0b带控制字符\x01")
    got = check_xml("service_requests", web.get(f"{BASE}/requests/{odd.number}.xml").content)[0]
    assert got["description"] == "复制来的文字带控制字符"


def test_reads_with_a_key_are_logged_and_jurisdiction_is_checked(web, key, category):
    assert web.get(f"{BASE}/services.json", {"api_key": key}).status_code == 200
    log = ApiCallLog.objects.get()
    assert log.key_name == "市民App" and log.path == "/open311/v2/services.json"  # the key itself is never logged
    assert web.get(f"{BASE}/services.json", {"jurisdiction_id": open311.jurisdiction_id()}).status_code == 200
    assert web.get(f"{BASE}/services.json", {"jurisdiction_id": "sfgov.org"}).status_code == 404
