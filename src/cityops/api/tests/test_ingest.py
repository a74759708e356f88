"""City 12345 platform ingest: idempotent per order number, batches item by item, the
city's category and address texts mapped to ours, unmapped ones to the operator's queue."""

import threading

import pytest
from django.db import IntegrityError, connection, connections

from cityops.api.tests.keyclient import KeyClient
from cityops.cases.models import Case, CaseEvent
from cityops.cases.services import CaseInput
from cityops.intake import channels as intake
from cityops.intake.models import AddressMapping, CityCategoryMapping, IntakeRecord
from cityops.testing.square import INSIDE, OUTSIDE

pytestmark = pytest.mark.django_db
URL = "/intake/city"


@pytest.fixture
def city(db):
    return KeyClient.issue("市12345平台")


def order(n: int = 1, **overrides) -> dict:
    body = {"order_no": f"SJ2026{n:06d}", "description": f"小区门口暴露垃圾成堆 第{n}件", "address": "东关大街 12 号",
            "category": "城乡建设/市容环卫/垃圾清运", **INSIDE, "reporter_name": "李四", "reporter_phone": "13912345678"}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


@pytest.fixture
def mapped(category):
    return CityCategoryMapping.objects.create(city_text="城乡建设/市容环卫/垃圾清运", category=category)


def test_the_same_order_sent_three_times_is_one_case(city, district, mapped):
    first = city.post(URL, order())
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["result"] == "created" and body["category"] == "E9901" and body["located"] is True
    for _ in range(2):
        again = city.post(URL, order())
        assert again.status_code == 200
        assert again.json()["result"] == "existing" and again.json()["case"] == body["case"]
    assert Case.objects.filter(channel="city_platform", external_id="SJ2026000001").count() == 1
    case = Case.objects.get(number=body["case"])
    assert case.status == "new" and case.grid_id == district["grid"].pk
    event = CaseEvent.objects.get(case=case)
    assert event.actor_label == "市12345平台" and event.actor == city.record.user
    record = IntakeRecord.objects.get(case=case)
    assert record.original_category == "城乡建设/市容环卫/垃圾清运" and record.category_mapped
    assert record.api_key == city.record and record.payload["order_no"] == "SJ2026000001"


def test_a_batch_with_bad_items_creates_the_others(city, district, mapped):
    items = [order(1), order(2, description=""), order(3, **OUTSIDE), {"order_no": "X"}, "不是对象", order(4), order(1)]
    response = city.post(URL, {"orders": items})
    assert response.status_code == 200, response.content
    body = response.json()
    results = body["results"]
    assert [r["result"] for r in results] == ["created", "rejected", "rejected", "rejected", "rejected", "created", "existing"]
    assert (body["created"], body["existing"], body["rejected"]) == (2, 1, 4)
    assert "description" in results[1]["errors"]
    assert results[2]["errors"] == {"location": "位置不在本辖区。"}
    assert "description" in results[3]["errors"] and results[3]["order_no"] == "X"
    assert results[4]["errors"] == {"body": "须为 JSON 对象"}
    assert results[6]["case"] == results[0]["case"]
    assert Case.objects.filter(channel="city_platform").count() == 2
    # A bare JSON array is a batch too.
    response = city.post(URL, [order(5), order(2)])
    assert [r["result"] for r in response.json()["results"]] == ["created", "created"]


def test_a_database_failure_mid_batch_answers_each_order(city, district, mapped, monkeypatch):
    from django.db import OperationalError

    from cityops.intake import channels

    real = channels.create_external_case

    def busy_on_the_second(**kwargs):
        if kwargs["data"].external_id == order(2)["order_no"]:
            raise OperationalError("database is locked")
        return real(**kwargs)

    monkeypatch.setattr(channels, "create_external_case", busy_on_the_second)
    response = city.post(URL, [order(1), order(2), order(3)])
    assert response.status_code == 200, response.content
    body = response.json()
    assert [(r["order_no"], r["result"]) for r in body["results"]] == [
        ("SJ2026000001", "created"), ("SJ2026000002", "failed"), ("SJ2026000003", "created")]
    assert (body["created"], body["failed"]) == (2, 1)
    assert body["results"][1]["code"] == "service_unavailable"
    assert set(Case.objects.values_list("external_id", flat=True)) == {"SJ2026000001", "SJ2026000003"}


def test_unmapped_category_goes_to_the_operators_queue_with_the_original_text(city, district):
    response = city.post(URL, order(category="市政设施 > 路灯 - 不亮"))
    body = response.json()
    assert response.status_code == 201 and body["category"] is None
    case = Case.objects.get(number=body["case"])
    assert case.status == "new" and case.category_id is None
    assert "【市平台分类（未映射）】市政设施 > 路灯 - 不亮" in case.description
    todo = CityCategoryMapping.objects.get(city_text="市政设施/路灯/不亮")
    assert todo.category_id is None and todo.seen_count == 1
    city.post(URL, order(2, category="市政设施/路灯/不亮"))
    todo.refresh_from_db()
    assert todo.seen_count == 2


def test_the_last_segment_and_our_own_code_also_map(city, district, category):
    CityCategoryMapping.objects.create(city_text="垃圾清运", category=category)
    assert city.post(URL, order(1, category="其他/垃圾清运")).json()["category"] == category.code
    assert city.post(URL, order(2, category="", category_code=category.code)).json()["category"] == category.code


def test_address_mapping_places_orders_without_coordinates(city, district, mapped):
    AddressMapping.objects.create(pattern="北关社区", lon=INSIDE["lon"], lat=INSIDE["lat"])
    placed = city.post(URL, order(1, lon=None, lat=None, address="城东区东关大街街道北关社区3号楼下")).json()
    assert placed["located"] is True
    case = Case.objects.get(number=placed["case"])
    assert case.grid_id == district["grid"].pk and case.address == "城东区东关大街街道北关社区3号楼下"
    assert IntakeRecord.objects.get(case=case).location_source == "address_mapping"
    unplaced = city.post(URL, order(2, lon=None, lat=None, address="某某路口")).json()
    assert unplaced["result"] == "created" and unplaced["located"] is False
    assert "【市平台地址（未定位）】某某路口" in Case.objects.get(number=unplaced["case"]).description


def test_a_rejected_single_order_is_a_400_with_field_errors(city, district):
    response = city.post(URL, order(case_type="抱怨", lat=95))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error" and "lat" in body["details"]
    response = city.post(URL, order(case_type="抱怨"))
    assert response.status_code == 400 and "case_type" in response.json()["details"]
    assert city.post(URL, order(case_type="咨询", urgency="紧急")).status_code == 201
    assert Case.objects.get().case_type == "consult" and Case.objects.get().urgency == "urgent"


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "code"),
    [
        ('{"order_no": ', "application/json", 400, "invalid_json"),
        ("", "application/json", 400, "invalid_json"),
        ("<order><order_no>1</order_no></order>", "application/xml", 415, "unsupported_media_type"),
        ("order_no=1", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b"\xff\xfe{}", "application/json", 400, "invalid_json"),
        ('"just a string"', "application/json", 400, "validation_error"),
        ('{"orders": {}}', "application/json", 400, "validation_error"),
        ('{"orders": []}', "application/json", 400, "validation_error"),
    ],
)
def test_malformed_bodies_get_precise_errors_and_write_nothing(city, raw, content_type, status, code):
    response = city.post(URL, raw=raw, content_type=content_type)
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert not Case.objects.exists()


def test_oversized_bodies_and_batches_are_refused_whole(city, district, settings):
    response = city.post(URL, [order(i) for i in range(1001)])
    assert response.status_code == 413
    assert response.json()["code"] == "batch_too_large" and response.json()["details"]["items"] == 1001
    settings.CITYOPS_INGEST_MAX_BYTES = 1000
    response = city.post(URL, [order(i) for i in range(10)])
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"
    assert not Case.objects.exists()


def test_who_may_send_city_orders(as_role, people, district, mapped):
    assert as_role("operator").post(URL, order(1)).status_code == 201  # operators enter city orders by hand too
    assert as_role("dept").post(URL, order(2)).status_code == 403
    assert as_role("inspector").post(URL, order(3)).status_code == 403
    assert KeyClient.issue("部门系统", role="department", department_code="chengguan").post(URL, order(4)).status_code == 403


@pytest.mark.parametrize("detected_by", ["service_check", "unique_constraint"])
def test_a_concurrent_create_of_the_same_order_returns_the_winner(city, district, mapped, monkeypatch, detected_by):
    """Another request commits the same order between our lookup and our insert."""
    winner = intake.case_create(data=CaseInput(description="先到的请求", channel="city_platform", external_id="SJ2026000001",
                                               require_location=False))
    real_lookup = intake.existing_case
    calls = []

    def late_lookup(channel, external_id):
        calls.append(external_id)
        return None if len(calls) == 1 else real_lookup(channel, external_id)

    monkeypatch.setattr(intake, "existing_case", late_lookup)
    if detected_by == "unique_constraint":
        def insert_hits_the_constraint(**kwargs):
            raise IntegrityError("UNIQUE constraint failed: uniq_external_id_per_channel")

        monkeypatch.setattr(intake, "case_create", insert_hits_the_constraint)
    response = city.post(URL, order())
    assert response.status_code == 200, response.content
    assert response.json()["result"] == "existing" and response.json()["case"] == winner.number
    assert Case.objects.count() == 1 and len(calls) == 2


def test_a_batch_costs_a_bounded_number_of_queries_per_order(city, district, mapped, django_assert_max_num_queries):
    city.post(URL, order(99))  # warm the per-process caches (geo index, calendar)
    with django_assert_max_num_queries(20 * 20):
        body = city.post(URL, [order(i) for i in range(20)]).json()
    assert body["created"] == 20 and Case.objects.count() == 21


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
def test_truly_concurrent_retries_make_one_case(district, mapped):
    if connection.vendor != "postgresql":
        pytest.skip("real concurrent inserts are tested on PostgreSQL (CI runs the suite on both databases)")
    client = KeyClient.issue("市12345平台")
    barrier = threading.Barrier(4)
    results: list[tuple[int, str]] = []

    def send():
        barrier.wait()
        try:
            response = KeyClient(client.key).post(URL, order())
            results.append((response.status_code, response.json().get("case")))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(code for code, _ in results) == [200, 200, 200, 201]
    assert len({number for _, number in results}) == 1
    assert Case.objects.count() == 1
