"""Channels per role: one table (`cases.services.channels_for`), enforced by `case_create`,
so the operator desk and the API are refused with the same message."""

import json

import pytest

from cityops.accounts.tests.factories import UserFactory
from cityops.cases.errors import ValidationFailed
from cityops.cases.models import Case, Channel
from cityops.cases.services import CaseInput, case_create, channel_refusal, channels_for

pytestmark = pytest.mark.django_db

OPERATOR_REFUSAL = "您的角色不能使用该来源渠道，可用：hotline（热线电话）、city_platform（市级12345平台）、web（市民网上反映）。"


def _consult(channel: str, description: str = "咨询垃圾分类投放时间") -> CaseInput:
    return CaseInput(description=description, channel=channel, case_type="consult", require_location=False)


def test_channels_for_lists_each_roles_channels_default_first():
    assert channels_for(UserFactory(role="operator")) == ["hotline", "city_platform", "web"]
    assert channels_for(UserFactory(role="inspector")) == ["inspector"]
    assert channels_for(UserFactory(role="system")) == ["api", "iot", "city_platform"]


def test_channels_for_a_role_that_does_not_report_is_empty():
    assert channels_for(UserFactory(role="leader")) == []
    assert channels_for(None) == []


def test_channels_for_a_superuser_is_every_channel_api_first():
    admin = UserFactory(is_superuser=True)
    assert channels_for(admin)[0] == "api" and sorted(channels_for(admin)) == sorted(Channel.values)


def test_case_create_refuses_an_operator_reporting_as_inspector():
    operator = UserFactory(role="operator")
    with pytest.raises(ValidationFailed) as refused:
        case_create(data=_consult(Channel.INSPECTOR), actor=operator)
    assert refused.value.message == OPERATOR_REFUSAL
    assert refused.value.details == {"channel": "not_allowed"}
    assert not Case.objects.exists()


def test_case_create_refuses_an_operator_reporting_as_iot():
    with pytest.raises(ValidationFailed):
        case_create(data=_consult(Channel.IOT), actor=UserFactory(role="operator"))
    assert not Case.objects.exists()


def test_case_create_refuses_the_open311_channel_to_an_operator():
    with pytest.raises(ValidationFailed):
        case_create(data=_consult(Channel.OPEN311), actor=UserFactory(role="operator"))


def test_case_create_accepts_an_operators_own_channel():
    case = case_create(data=_consult(Channel.WEB), actor=UserFactory(role="operator"))
    assert case.channel == Channel.WEB


def test_case_create_lets_a_system_account_report_through_open311_its_entry_point():
    case = case_create(data=_consult(Channel.OPEN311), actor=UserFactory(role="system"))
    assert case.channel == Channel.OPEN311


def test_case_create_without_a_signed_in_actor_keeps_the_entry_points_channel():
    assert case_create(data=_consult(Channel.WEB)).channel == Channel.WEB


def test_the_refusal_names_no_channel_for_a_role_without_any():
    assert channel_refusal(UserFactory(role="leader")).message == "您的角色不能使用该来源渠道，可用：无。"


def test_api_refuses_the_inspector_channel_of_an_operator_with_the_same_message(client):
    from cityops.api.tokens import token_issue

    token = token_issue(user=UserFactory(role="operator")).token
    body = {"type": "consult", "description": "咨询垃圾分类投放时间", "channel": "inspector"}
    response = client.post("/api/v1/cases", data=json.dumps(body), content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 400
    assert response.json() == {"code": "validation_error", "message": OPERATOR_REFUSAL, "details": {"channel": "not_allowed"}}
    assert not Case.objects.exists()
def test_operator_desk_refuses_the_inspector_channel_with_the_service_message(client):
    client.force_login(UserFactory(role="operator"))
    response = client.post("/desk/operator/", {
        "channel": Channel.INSPECTOR, "case_type": "consult", "description": "咨询垃圾分类投放时间", "urgency": "",
    })
    assert response.status_code == 400
    assert OPERATOR_REFUSAL in response.content.decode()
    assert not Case.objects.exists()


