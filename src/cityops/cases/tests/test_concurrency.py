"""Two dispatchers press 派遣 on the same case at the same moment: exactly one wins."""

import threading

import pytest
from django.db import connection, connections

from cityops.cases.errors import Conflict
from cityops.cases.models import Case, CaseEvent
from cityops.cases.states import Action, Status
from cityops.cases.tests.factories import make_case
from cityops.cases.workflow import case_transition

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]


@pytest.fixture(autouse=True)
def _needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("row-level locking semantics are tested on PostgreSQL (CI runs the suite on both databases)")


def test_concurrent_double_dispatch_has_exactly_one_winner(people, category, department, other_department):
    case = case_transition(case=make_case(category=category), action=Action.REGISTER, actor=people["operator"])
    second_dispatcher = people["leader"].__class__.objects.get(pk=people["dispatcher"].pk)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def dispatch(user, code):
        copy = Case.objects.get(pk=case.pk)  # each dispatcher read the case before either acted
        barrier.wait()
        try:
            case_transition(case=copy, action=Action.DISPATCH, actor=user, data={"department": code})
            outcomes.append("won")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=dispatch, args=(people["dispatcher"], department.code)),
        threading.Thread(target=dispatch, args=(second_dispatcher, other_department.code)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sorted(outcomes) == ["conflict", "won"]
    assert CaseEvent.objects.filter(case=case, action=Action.DISPATCH).count() == 1
    final = Case.objects.get(pk=case.pk)
    assert final.status == Status.DISPATCHED and final.version == case.version + 1
