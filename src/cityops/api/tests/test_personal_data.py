"""Personal data over the API: anonymous reports are accepted, Open311 lists never show a reporter."""

import pytest
from django.test import Client

from cityops.api.tests.open311_shapes import check_json
from cityops.cases.models import Case
from cityops.cases.tests.factories import make_case

pytestmark = pytest.mark.django_db


def test_a_report_without_name_or_phone_is_accepted_as_anonymous(as_role, report, district):
    response = as_role("operator").post("/cases", report(reporter_name=None, reporter_phone=None))
    assert response.status_code == 201
    body = response.json()
    assert body["reporter_name"] == "" and body["reporter_phone"] == ""
    case = Case.objects.get(number=body["number"])
    assert case.reporter_name == "" and case.reporter_phone == ""


def test_open311_request_lists_never_show_the_reporter(category, district):
    case = make_case(category=category, reporter_name="王小明", reporter_phone="13512345678",
                     description="油烟扰民，王小明，请联系 13512345678 或 wxm@example.com")
    Case.objects.filter(pk=case.pk).update(status="registered", registered_at=case.created_at)  # public from 立案 on
    for fmt in ("json", "xml"):
        body = Client().get(f"/open311/v2/requests.{fmt}").content.decode()
        if fmt == "json":
            assert len(check_json("service_requests", body.encode())) == 1
        for private in ("王小明", "13512345678", "wxm@example.com"):
            assert private not in body, (fmt, private)
