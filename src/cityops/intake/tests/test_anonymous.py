"""Reporters may stay anonymous, and the pages staff use show names and phones masked by default."""

import pytest
from django.urls import reverse

from cityops.accounts.tests.factories import UserFactory
from cityops.audit.models import AuditAction, AuditEntry
from cityops.cases.models import Case
from cityops.cases.tests.factories import make_case
from cityops.intake.tests.support import INSIDE_WEST

pytestmark = pytest.mark.django_db


def test_citizen_may_report_without_name_or_phone(client, geo):
    response = client.post(reverse("intake:report"), {
        "case_type": "complaint", "description": "路灯不亮", "address": "",
        "lon": str(INSIDE_WEST[0]), "lat": str(INSIDE_WEST[1]), "coord_system": "wgs84",
        "reporter_name": "", "reporter_phone": "",
    })
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.reporter_name == "" and case.reporter_phone == ""


def test_an_anonymous_case_shows_as_anonymous_with_nothing_to_reveal(client, geo):
    case = make_case(reporter_name="", reporter_phone="")
    client.force_login(UserFactory(role="operator"))
    html = client.get(reverse("cases:detail", args=[case.number])).content.decode()
    assert "匿名" in html and "查看完整信息" not in html
    client.post(reverse("cases:reporter_reveal", args=[case.number]))
    assert not AuditEntry.objects.filter(action=AuditAction.VIEW_PERSONAL_DATA).exists()


def test_the_case_list_masks_reporters_even_for_roles_allowed_to_reveal(client, geo):
    make_case(reporter_name="张三丰", reporter_phone="13812341234")
    client.force_login(UserFactory(role="dispatcher"))
    html = client.get(reverse("cases:list")).content.decode()
    assert "13812341234" not in html and "张三丰" not in html and "138****1234" in html
