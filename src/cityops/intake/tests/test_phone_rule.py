"""One phone rule for every face: the public form, the API and the service refuse and accept
the same numbers (`common.validators.is_phone`) with the same message."""

import json

import pytest

from cityops.accounts.tests.factories import UserFactory
from cityops.cases.errors import ValidationFailed
from cityops.cases.services import CaseInput, case_create
from cityops.common.validators import PHONE_MESSAGE
from cityops.intake.forms import CitizenReportForm

pytestmark = pytest.mark.django_db

BAD = "138abc1234"
GOOD = "0971-8123456-801"


def _public_form(phone: str) -> CitizenReportForm:
    form = CitizenReportForm(data={"case_type": "consult", "description": "咨询垃圾分类投放时间", "reporter_phone": phone})
    form.is_valid()
    return form


def test_public_form_refuses_a_phone_with_letters_with_the_shared_message():
    assert _public_form(BAD).errors["reporter_phone"] == [PHONE_MESSAGE]


def test_public_form_accepts_a_landline_with_an_extension():
    assert "reporter_phone" not in _public_form(GOOD).errors


def test_service_refuses_the_same_phone_with_the_same_message():
    data = CaseInput(description="咨询垃圾分类投放时间", case_type="consult", reporter_phone=BAD, require_location=False)
    with pytest.raises(ValidationFailed) as refused:
        case_create(data=data)
    assert refused.value.details == {"reporter_phone": PHONE_MESSAGE}


def test_service_refuses_a_phone_over_20_characters_the_form_cannot_send():
    data = CaseInput(description="咨询", case_type="consult", reporter_phone="1" * 21, require_location=False)
    with pytest.raises(ValidationFailed) as refused:
        case_create(data=data)
    assert refused.value.details == {"reporter_phone": PHONE_MESSAGE}


def test_api_refuses_the_same_phone_with_the_same_message(client):
    from cityops.api.tokens import token_issue

    token = token_issue(user=UserFactory(role="operator")).token
    body = {"type": "consult", "description": "咨询垃圾分类投放时间", "reporter_phone": BAD}
    response = client.post("/api/v1/cases", data=json.dumps(body), content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert response.json()["details"]["reporter_phone"] == PHONE_MESSAGE
