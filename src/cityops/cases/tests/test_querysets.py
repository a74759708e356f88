"""The SLA conditions' one home (`cases.querysets`): `Case.objects.overdue(now)` and its
siblings select exactly what the expressions spelled out before them did, and agree with
`sla.level_at` case by case."""

from datetime import timedelta

import pytest
from django.db.models import Q
from django.utils import timezone

from cityops.cases import sla
from cityops.cases.models import Case, SlaLevel
from cityops.cases.querysets import near_due_q, overdue_q
from cityops.cases.states import OPEN_STATUSES, Status
from cityops.cases.tests.factories import make_case

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)
H = timedelta(hours=1)

# The expressions the list filters, the SLA scan, the escalation and analytics spelled out.
OLD_RED = Q(status__in=OPEN_STATUSES, deadline__lte=NOW, clock_paused_at__isnull=True)
OLD_YELLOW = Q(status__in=OPEN_STATUSES, warn_at__lte=NOW, deadline__gt=NOW, clock_paused_at__isnull=True)
OLD_GREEN = Q(status__in=OPEN_STATUSES, warn_at__gt=NOW)


@pytest.fixture
def cases():
    """One case at each SLA level, and the ones no level of time applies to."""
    shapes = {
        "green": {"deadline": NOW + 10 * H, "warn_at": NOW + 8 * H},
        "yellow": {"deadline": NOW + H, "warn_at": NOW - H},
        "red": {"deadline": NOW - H, "warn_at": NOW - 3 * H},
        "due_this_second": {"deadline": NOW, "warn_at": NOW - 2 * H},
        "paused_red": {"deadline": NOW - H, "warn_at": NOW - 3 * H, "clock_paused_at": NOW - 2 * H, "sla_level": SlaLevel.YELLOW},
        "paused_green": {"deadline": NOW + 10 * H, "warn_at": NOW + 8 * H, "clock_paused_at": NOW - H},
        "closed_late": {"deadline": NOW - H, "warn_at": NOW - 3 * H, "status": Status.CLOSED},
        "rejected_late": {"deadline": NOW - H, "warn_at": NOW - 3 * H, "status": Status.REJECTED},
        "no_clock": {"deadline": None, "warn_at": None},
        "suspended_red": {"deadline": NOW - H, "warn_at": NOW - 3 * H, "status": Status.SUSPENDED},
    }
    made = {}
    for name, fields in shapes.items():
        case = make_case(description=name, now=NOW - 12 * H)
        Case.objects.filter(pk=case.pk).update(**fields)
        made[name] = Case.objects.get(pk=case.pk)
    return made


def _names(qs) -> set[str]:
    return set(qs.values_list("description", flat=True))


def test_overdue_selects_what_the_old_red_expression_did(cases):
    assert _names(Case.objects.overdue(NOW)) == _names(Case.objects.filter(OLD_RED)) == {"red", "due_this_second", "suspended_red"}


def test_not_overdue_is_the_old_exclusion(cases):
    assert _names(Case.objects.not_overdue(NOW)) == _names(Case.objects.exclude(OLD_RED))
    assert _names(Case.objects.not_overdue(NOW)) | _names(Case.objects.overdue(NOW)) == set(cases)


def test_near_due_selects_what_the_old_yellow_expression_did(cases):
    assert _names(Case.objects.near_due(NOW)) == _names(Case.objects.filter(OLD_YELLOW)) == {"yellow"}


def test_on_time_selects_what_the_old_green_expression_did(cases):
    assert _names(Case.objects.on_time(NOW)) == _names(Case.objects.filter(OLD_GREEN)) == {"green", "paused_green"}


def test_at_level_picks_the_condition_of_each_level(cases):
    assert _names(Case.objects.at_level(SlaLevel.RED, NOW)) == _names(Case.objects.overdue(NOW))
    assert _names(Case.objects.at_level("yellow", NOW)) == {"yellow"}
    assert _names(Case.objects.at_level(SlaLevel.GREEN, NOW)) == {"green", "paused_green"}


def test_at_level_refuses_a_level_without_a_condition():
    with pytest.raises(ValueError):
        Case.objects.at_level(SlaLevel.NONE, NOW)


def test_open_is_every_status_but_closed_and_rejected(cases):
    assert _names(Case.objects.open()) == set(cases) - {"closed_late", "rejected_late"}


def test_querysets_agree_with_level_at_for_every_running_open_case(cases):
    red, yellow = _names(Case.objects.overdue(NOW)), _names(Case.objects.near_due(NOW))
    for name, case in cases.items():
        if case.status not in OPEN_STATUSES or case.clock_paused_at:
            continue
        level = sla.level_at(NOW, case.deadline, case.warn_at)
        assert (name in red) == (level == SlaLevel.RED), name
        assert (name in yellow) == (level == SlaLevel.YELLOW), name


def test_the_conditions_work_inside_an_aggregate(cases):
    from django.db.models import Count

    counts = Case.objects.aggregate(red=Count("pk", filter=overdue_q(NOW)), yellow=Count("pk", filter=near_due_q(NOW)))
    assert counts == {"red": 3, "yellow": 1}


def test_a_scoped_queryset_keeps_the_methods(cases, people):
    from cityops.cases.permissions import cases_visible_to

    assert _names(cases_visible_to(people["leader"]).overdue(NOW)) == {"red", "due_this_second", "suspended_red"}
