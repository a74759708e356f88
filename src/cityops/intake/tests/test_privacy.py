"""The intake app's part of personal data retention (`intake/privacy.py`, declared as an
"anonymisers" hook in intake/plugin.py and run by `cases.privacy.personal_data_anonymise`)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cityops.cases.models import Case
from cityops.cases.privacy import anonymisers, personal_data_anonymise, privacy_job
from cityops.cases.states import Status
from cityops.cases.tests.factories import make_case
from cityops.intake.models import IntakeRecord
from cityops.intake.privacy import anonymise_intake_records

pytestmark = pytest.mark.django_db

NOW = timezone.now()
OPEN311_BODY = {
    "first_name": "三", "last_name": "张", "phone": "13812341234", "email": "zs@example.com",
    "description": "电话13812341234", "service_code": "E0102", "attributes": {"floor": "3"},
}


def _closed(days_ago: int) -> Case:
    closed_at = NOW - timedelta(days=days_ago)
    case = make_case(now=closed_at - timedelta(days=3))
    Case.objects.filter(pk=case.pk).update(status=Status.CLOSED, closed_at=closed_at)
    return case


def test_the_intake_app_declares_its_anonymiser():
    assert anonymise_intake_records in anonymisers()


def test_outside_systems_payloads_lose_their_personal_keys():
    case = _closed(800)
    IntakeRecord.objects.create(case=case, channel="open311", payload=OPEN311_BODY)
    assert personal_data_anonymise(months=24, now=NOW).intake_records == 1
    payload = IntakeRecord.objects.get(case=case).payload
    # The body was stored masked on arrival (intake.masking); the anonymiser removes the personal keys.
    assert payload == {"description": "电话138****1234", "service_code": "E0102", "attributes": {"floor": "3"}}


def test_records_of_recent_cases_keep_their_payload_and_a_second_run_finds_nothing():
    old, recent = _closed(800), _closed(300)
    IntakeRecord.objects.create(case=old, channel="open311", payload=OPEN311_BODY)
    IntakeRecord.objects.create(case=recent, channel="open311", payload=OPEN311_BODY)
    assert privacy_job()["intake_records"] == 1
    assert "phone" in IntakeRecord.objects.get(case=recent).payload
    assert personal_data_anonymise(months=24, now=NOW, dry_run=True).intake_records == 0
