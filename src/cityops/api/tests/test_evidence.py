"""Department evidence through the API: the after-photo of respond (multipart), returns with a
reason that wait for the dispatcher's accept_return / reject_return."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from cityops.cases.models import Attachment, AttachmentKind, Case, CaseEvent
from cityops.cases.tests.factories import LeafCategoryFactory
from cityops.catalog.models import CategoryKind

pytestmark = pytest.mark.django_db


def png(name="after.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "green").save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def move(client, number, action, **body):
    response = client.post(f"/cases/{number}/actions/{action}", body)
    assert response.status_code == 200, response.content
    return response.json()


def multipart(client, number, action, data):
    """The same action as a multipart form (fields + files), as a field app uploads photos."""
    return client.client.post(f"/api/v1/cases/{number}/actions/{action}", data=data, **client.headers)


@pytest.fixture
def part_case(as_role, report, district, department):
    """A 部件 case (manhole cover) signed by the department."""
    LeafCategoryFactory(code="P9901", name="井盖", kind=CategoryKind.PART, requires_after_photo=True)
    created = as_role("operator").post("/cases", report(category="P9901"))
    assert created.status_code == 201, created.content
    number = created.json()["number"]
    move(as_role("operator"), number, "register")
    move(as_role("dispatcher"), number, "dispatch", department=department.code)
    move(as_role("dept"), number, "sign")
    return number


def test_respond_on_a_part_case_without_a_photo_is_a_400_and_writes_nothing(as_role, part_case):
    before = Case.objects.get(number=part_case)
    response = as_role("dept").post(f"/cases/{part_case}/actions/respond", {"result": "已更换井盖"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error" and "处置后照片" in body["message"]
    assert body["details"] == {"photos": "required"}
    after = Case.objects.get(number=part_case)
    assert after.status == "in_progress" and after.version == before.version
    assert not CaseEvent.objects.filter(case=after, action="respond").exists()


def test_respond_takes_the_after_photo_as_multipart(as_role, part_case):
    version = Case.objects.get(number=part_case).version
    response = multipart(as_role("dept"), part_case, "respond", {"result": "已更换井盖", "version": version, "photos": [png()]})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "responded"
    photo = Attachment.objects.get(case__number=part_case)
    assert photo.kind == AttachmentKind.AFTER and photo.event.action == "respond"


def test_a_multipart_respond_with_a_non_image_is_refused_whole(as_role, part_case):
    fake = SimpleUploadedFile("after.jpg", b"GIF89a not really", content_type="image/jpeg")
    response = multipart(as_role("dept"), part_case, "respond", {"result": "已更换井盖", "photos": [fake]})
    assert response.status_code == 400 and response.json()["details"] == {"file": "not_image"}
    assert Case.objects.get(number=part_case).status == "in_progress"
    assert not Attachment.objects.filter(case__number=part_case).exists()


def test_a_return_without_an_explanation_is_a_400_in_chinese(as_role, part_case):
    response = as_role("dept").post(f"/cases/{part_case}/actions/return", {"reason": "not_our_duty"})
    assert response.status_code == 400
    assert response.json()["message"].startswith("请填写退单说明") and "note" in response.json()["details"]


def test_a_return_waits_for_the_dispatcher_who_accepts_it(as_role, part_case, other_department):
    case = move(as_role("dept"), part_case, "return", reason="not_our_duty", note="井盖属住建局管养",
                suggested_department=other_department.code)
    assert case["status"] == "in_progress" and case["return_pending"] is True
    assert case["return_request"]["suggested_department"] == other_department.code
    assert as_role("dept").get(f"/cases/{part_case}").json()["available_actions"] == []
    case = move(as_role("dispatcher"), part_case, "accept_return")
    assert case["status"] == "returned" and case["department"] is None and case["return_pending"] is False


def test_a_rejected_return_goes_back_to_the_department(as_role, part_case):
    move(as_role("dept"), part_case, "return", reason="wrong_location", note="地址不在本单位辖区")
    refused = as_role("dispatcher").post(f"/cases/{part_case}/actions/reject_return", {})
    assert refused.status_code == 400 and "驳回理由" in refused.json()["message"]
    case = move(as_role("dispatcher"), part_case, "reject_return", note="地址核实无误，请继续处置")
    assert case["status"] == "in_progress" and case["return_pending"] is False
    assert "respond" in as_role("dept").get(f"/cases/{part_case}").json()["available_actions"]
