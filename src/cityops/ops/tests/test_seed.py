"""The load generator: realistic, consistent cases with their events, on SQLite (bulk_create)
and on PostgreSQL (binary COPY)."""

import re
from collections import Counter

import pytest
from django.db.models import Count, Max
from django.utils import timezone

from cityops.accounts.tests.factories import UserFactory
from cityops.cases.models import Case, CaseEvent, CaseNumberCounter, SlaLevel
from cityops.cases.services import next_case_number
from cityops.cases.states import OPEN_STATUSES, Action, Status
from cityops.cases.tests.factories import DepartmentFactory
from cityops.catalog.models import DepartmentKind
from cityops.ops.seed import seed


@pytest.fixture
def reference(district, category, department):
    DepartmentFactory(code="CENTER", name="指挥中心", kind=DepartmentKind.CENTER)
    for role in ("operator", "dispatcher", "inspector"):
        UserFactory(role=role, username=role)
    UserFactory(role="department", department=department, username=f"dept-{department.code}")


def check(result, n: int) -> None:
    assert result.cases == n == Case.objects.count()
    assert result.events == CaseEvent.objects.count()
    # Every case has exactly one create event, at its creation time.
    creates = Counter(CaseEvent.objects.filter(action=Action.CREATE).values_list("case_id", flat=True))
    assert len(creates) == n and set(creates.values()) == {1}
    for case in Case.objects.order_by("?")[:50]:
        first = case.events.order_by("created_at", "id").first()
        assert first.action == Action.CREATE and first.created_at == case.created_at
        assert re.fullmatch(r"CD\d{8}-\d{4,}", case.number)
        if case.status in OPEN_STATUSES and case.deadline and not case.clock_paused_at and case.deadline <= timezone.now():
            assert case.sla_level == SlaLevel.RED
        if case.status in (Status.CLOSED, Status.REJECTED):
            assert case.closed_at is not None and case.sla_level == SlaLevel.NONE
    statuses = set(Case.objects.values_list("status", flat=True))
    assert Status.CLOSED in statuses and statuses & OPEN_STATUSES
    assert Case.objects.values("number").annotate(n=Count("id")).filter(n__gt=1).count() == 0
    # The day counters continue after the seeded numbers: the next intake gets a fresh one.
    last = Case.objects.aggregate(m=Max("created_at"))["m"]
    counter = CaseNumberCounter.objects.get(day=timezone.localtime(last).date())
    assert not Case.objects.filter(number=next_case_number(last)).exists()
    assert counter.last >= 1


@pytest.mark.django_db
def test_seed_on_the_portable_path(reference, settings):
    from django.db import connection

    if connection.vendor == "postgresql":
        pytest.skip("the PostgreSQL path is tested below")
    check(seed(cases=400, days=10, chunk=150), 400)


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
def test_seed_copies_into_postgresql(reference):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("binary COPY is PostgreSQL's")
    result = seed(cases=3000, days=20, chunk=1000)
    check(result, 3000)
    assert result.events > 3000 * 3
