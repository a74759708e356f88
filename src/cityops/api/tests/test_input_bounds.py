"""Hostile numbers and dates get a clean 400 with the structured error, never a 500:
paging and ids bounded, huge JSON numbers refused, Open311 dates checked with the spec's
error list."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from cityops.api.tests.keyclient import KeyClient
from cityops.cases.models import Case
from cityops.testing.square import INSIDE

pytestmark = pytest.mark.django_db
HUGE = "9223372036854775808"  # 2**63: one more than the largest database integer


@pytest.mark.parametrize("params", [{"page": HUGE}, {"page": "10001"}, {"page_size": HUGE}, {"page": "-" + HUGE}])
def test_case_list_paging_out_of_bounds_is_a_400(as_role, params):
    response = as_role("operator").get("/cases", params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "validation_error" and set(body["details"]) == set(params)


def test_the_last_allowed_page_is_an_empty_page_not_an_error(as_role):
    response = as_role("operator").get("/cases", {"page": "10000", "page_size": "100"})
    assert response.status_code == 200 and response.json()["results"] == []


def test_an_action_with_a_huge_version_is_a_400(as_role, district, category):
    case = as_role("operator").post("/cases", {"description": "路灯不亮", **INSIDE}).json()["number"]
    response = as_role("operator").post(f"/cases/{case}/actions/register", {"version": int(HUGE)})
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "validation_error" and "version" in response.json()["details"]


@pytest.mark.parametrize("params", [{"after": HUGE}, {"session": HUGE}, {"after": "-1"}])
def test_big_screen_ids_out_of_bounds_are_a_400(as_role, params):
    response = as_role("leader").get("/stats/bigscreen", params)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "validation_error"


@pytest.mark.parametrize("field", ["lon", "title", "received_at"])
def test_a_5000_digit_number_in_a_city_order_is_a_400(district, field):
    city = KeyClient.issue("市12345平台")
    raw = json.dumps({"order_no": "SJ1", "description": "垃圾成堆", **INSIDE}).replace('"order_no"', f'"{field}": {"9" * 5000}, "order_no"')
    response = city.post("/intake/city", raw=raw)
    assert response.status_code == 400, response.content
    assert response.json()["code"] in ("invalid_json", "validation_error")
    assert not Case.objects.exists()


@pytest.mark.parametrize("path", ["/intake/alarm", "/cases"])
def test_a_5000_digit_number_elsewhere_is_a_400(district, path):
    client = KeyClient.issue("视频平台")
    raw = '{"device_id": "CAM-1", "event_type": "fire", "description": "x", "lon": ' + "9" * 5000 + ', "lat": 36.6}'
    response = client.post(path, raw=raw)
    assert response.status_code == 400, response.content
    assert response.json()["code"] in ("invalid_json", "validation_error")


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"start_date": "2026-11-01T00:00:00+99:00"}, "start_date"),
        ({"start_date": "0001-01-01"}, "start_date"),
        ({"end_date": "9999-12-31"}, "end_date"),
        ({"updated_after": "0001-01-01T00:00:00Z"}, "updated_after"),
        ({"updated_before": "9999-12-31"}, "updated_before"),
        ({"start_date": "2026-02-30"}, "start_date"),
        ({"end_date": "2026-11-01T25:00:00"}, "end_date"),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_open311_dates_out_of_range_get_the_spec_error_list_with_code_400(params, named, fmt):
    response = Client().get(f"/open311/v2/requests.{fmt}", params)
    assert response.status_code == 400
    if fmt == "json":
        errors = response.json()
        assert len(errors) == 1 and errors[0]["code"] == 400
        assert named in errors[0]["description"] and "日期" in errors[0]["description"]
    else:
        text = response.content.decode()
        assert "<code>400</code>" in text and named in text


@pytest.mark.parametrize("bbox", ["1e999,0,1,1", "nan,0,1,1", "0,0,1"])
def test_open311_bbox_must_be_four_finite_numbers(bbox):
    response = Client().get("/open311/v2/requests.json", {"bbox": bbox})
    assert response.status_code == 400 and response.json()[0]["code"] == 400
