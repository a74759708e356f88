"""Case numbers: CD<day>-<n>, one sequence per local day, taken outside the case's transaction
(on PostgreSQL by the `cityops_next_case_number` function) or inside it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from cityops.cases.models import CaseNumberCounter
from cityops.cases.services import next_case_number

TZ = ZoneInfo("Asia/Shanghai")


@pytest.mark.django_db(transaction=True)
def test_numbers_outside_a_transaction_start_at_one_each_day_and_count_up():
    day1 = datetime(2026, 11, 20, 9, tzinfo=TZ)
    day2 = datetime(2026, 11, 21, 0, 5, tzinfo=TZ)
    assert [next_case_number(day1) for _ in range(3)] == ["CD20261120-0001", "CD20261120-0002", "CD20261120-0003"]
    assert next_case_number(day2) == "CD20261121-0001"
    assert CaseNumberCounter.objects.get(day=day1.date()).last == 3


@pytest.mark.django_db(transaction=True)
def test_numbers_inside_and_outside_a_transaction_share_one_sequence():
    moment = datetime(2026, 11, 20, 9, tzinfo=TZ)
    assert next_case_number(moment) == "CD20261120-0001"
    with transaction.atomic():
        assert next_case_number(moment) == "CD20261120-0002"
    assert next_case_number(moment) == "CD20261120-0003"


@pytest.mark.django_db(transaction=True)
def test_a_number_taken_inside_a_rolled_back_transaction_is_given_again():
    moment = datetime(2026, 11, 20, 9, tzinfo=TZ)
    next_case_number(moment)
    with pytest.raises(RuntimeError), transaction.atomic():
        next_case_number(moment)
        raise RuntimeError("intake failed")
    # Inside the failed transaction the counter moved with it and rolled back: no gap.
    assert next_case_number(moment) == "CD20261120-0002"
