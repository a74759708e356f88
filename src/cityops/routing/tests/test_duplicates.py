from datetime import timedelta

import pytest
from django.utils import timezone

from cityops.accounts.tests.factories import UserFactory
from cityops.cases.states import Status
from cityops.cases.tests.factories import make_case
from cityops.cases.workflow import case_transition
from cityops.routing import duplicates
from cityops.routing.models import DuplicateIndexEntry

LON, LAT = 101.80, 36.60
TEXT = "东关大街12号门口暴露垃圾成堆，气味难闻，无人清理"


def _place(case, dx_m=0.0, dy_m=0.0, days_ago=0):
    """Put a case at an offset in metres from (LON, LAT) and index it (cases are made without location)."""
    case.lat = LAT + dy_m / 111_320
    case.lon = LON + dx_m / (111_320 * 0.8090)  # cos(36.6°)
    case.created_at = timezone.now() - timedelta(days=days_ago)
    case.save(update_fields=["lat", "lon", "created_at"])
    duplicates.index_case(case)
    return case


@pytest.fixture
def cluster(db):
    return {
        "same_near": _place(make_case(description=TEXT), dx_m=20),
        "same_far": _place(make_case(description=TEXT + "，已经三天了"), dx_m=250),
        "other_near": _place(make_case(description="路灯不亮，晚上出行不便"), dx_m=30),
        "other_mid": _place(make_case(description="小区电梯故障多次报修无人维修"), dx_m=120),
        "same_outside": _place(make_case(description=TEXT), dx_m=600),
        "same_old": _place(make_case(description=TEXT), dx_m=10, days_ago=30),
    }


def test_candidates_are_ranked_by_text_and_distance(cluster):
    found = duplicates.candidates(lon=LON, lat=LAT, text=TEXT)
    numbers = [c["case"].number for c in found]
    assert numbers[0] == cluster["same_near"].number
    assert numbers[1] == cluster["same_far"].number
    assert cluster["other_near"].number in numbers  # within 50 m: shown even with other text
    assert cluster["other_mid"].number not in numbers  # dissimilar and not very near
    assert cluster["same_outside"].number not in numbers  # beyond the radius
    assert cluster["same_old"].number not in numbers  # outside the time window
    assert found[0]["similarity"] > 0.9 and found[0]["distance_m"] == 20


def test_closed_or_merged_cases_leave_the_index(cluster, django_capture_on_commit_callbacks):
    operator = UserFactory(role="operator")
    master = cluster["same_far"]
    with django_capture_on_commit_callbacks(execute=True):
        case_transition(case=cluster["same_near"], action="merge", actor=operator, data={"master": master.number})
    assert not DuplicateIndexEntry.objects.filter(case_id=cluster["same_near"].pk).exists()
    numbers = [c["case"].number for c in duplicates.candidates(lon=LON, lat=LAT, text=TEXT)]
    assert cluster["same_near"].number not in numbers
    merged = type(master).objects.get(pk=cluster["same_near"].pk)
    assert merged.status == Status.CLOSED and merged.master_id == master.pk


def test_the_desk_selector_delegates_to_the_index(cluster):
    from cityops.routing.selectors import duplicate_candidates

    found = duplicate_candidates(lon=LON, lat=LAT, description=TEXT, exclude_pk=cluster["same_near"].pk)
    assert found[0]["case"].number == cluster["same_far"].number


def test_reindex_rebuilds_from_the_case_table(cluster):
    DuplicateIndexEntry.objects.all().delete()
    assert duplicates.reindex() == len(cluster)
    assert duplicates.candidates(lon=LON, lat=LAT, text=TEXT)[0]["case"].number == cluster["same_near"].number


def test_no_location_no_candidates(db):
    assert duplicates.candidates(lon=None, lat=None, text=TEXT) == []
