"""Video / IoT alarms: event types mapped to a 小类, the device's registered location when
the alarm has none, cases on the iot channel, repeated alarms folded into the open case."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cityops.accounts.tests.factories import UserFactory
from cityops.api.tests.keyclient import KeyClient
from cityops.cases.models import Case
from cityops.cases.workflow import case_transition
from cityops.intake.models import AlarmTypeMapping, Device, IntakeRecord
from cityops.testing.square import INSIDE, OUTSIDE

pytestmark = pytest.mark.django_db
URL = "/intake/alarm"


@pytest.fixture
def video(db):
    return KeyClient.issue("视频智能分析平台")


@pytest.fixture
def camera(db):
    return Device.objects.create(code="CAM-0017", name="东关大街口球机", lon=INSIDE["lon"], lat=INSIDE["lat"], address="东关大街与北关街交叉口")


@pytest.fixture
def garbage(category):
    return AlarmTypeMapping.objects.create(event_type="garbage_overflow", label="垃圾满溢", category=category)


def alarm(**overrides):
    body = {"device_id": "CAM-0017", "event_type": "garbage_overflow", "snapshot_url": "https://video.example.com/snap/1.jpg"}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def test_an_alarm_creates_a_case_at_the_devices_location(video, district, camera, garbage):
    response = video.post(URL, alarm())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["result"] == "created" and body["category"] == "E9901" and body["repeat_count"] == 0
    case = Case.objects.get(number=body["case"])
    assert case.channel == "iot" and case.grid_id == district["grid"].pk and case.address == camera.address
    assert case.title == "垃圾满溢（CAM-0017）" and "东关大街口球机（CAM-0017）报警：垃圾满溢" in case.description
    assert "https://video.example.com/snap/1.jpg" in case.description
    record = IntakeRecord.objects.get(case=case)
    assert record.location_source == "device" and record.media_url == "https://video.example.com/snap/1.jpg"
    assert record.device_code == "CAM-0017" and record.event_type == "garbage_overflow"


def test_repeated_alarms_within_the_window_return_the_open_case(video, district, camera, garbage, settings):
    first = video.post(URL, alarm()).json()
    again = video.post(URL, alarm(snapshot_url="https://video.example.com/snap/2.jpg"))
    assert again.status_code == 200
    assert again.json()["result"] == "existing" and again.json()["case"] == first["case"] and again.json()["repeat_count"] == 1
    assert video.post(URL, alarm()).json()["repeat_count"] == 2
    other_type = video.post(URL, alarm(event_type="illegal_parking"))
    assert other_type.status_code == 201  # another kind of problem is another case
    assert Case.objects.count() == 2

    # The window slides with each repeat; once it has passed, or the case is closed, a new case opens.
    IntakeRecord.objects.filter(case__number=first["case"]).update(last_seen_at=timezone.now() - timedelta(minutes=31))
    later = video.post(URL, alarm())
    assert later.status_code == 201 and later.json()["case"] != first["case"]
    case = Case.objects.get(number=later.json()["case"])
    case_transition(case=case, action="answer", actor=UserFactory(role="operator"), data={"answer": "已处理"})
    assert video.post(URL, alarm()).status_code == 201


def test_the_same_alarm_id_is_one_case(video, district, camera, garbage):
    first = video.post(URL, alarm(event_id="EV-1")).json()
    IntakeRecord.objects.update(last_seen_at=timezone.now() - timedelta(days=1))  # outside the window
    again = video.post(URL, alarm(event_id="EV-1"))
    assert again.status_code == 200 and again.json()["case"] == first["case"]


def test_unknown_devices_need_a_location_and_unmapped_types_go_to_the_operator(video, district):
    response = video.post(URL, alarm(device_id="SENSOR-9", event_type="water_level_high", **INSIDE))
    assert response.status_code == 201
    body = response.json()
    assert body["category"] is None
    case = Case.objects.get(number=body["case"])
    assert case.status == "new" and "【报警类型（未映射）】water_level_high" in case.description
    assert AlarmTypeMapping.objects.get(event_type="water_level_high").category_id is None  # listed for the admin
    assert Device.objects.get(code="SENSOR-9").verified is False
    response = video.post(URL, alarm(device_id="SENSOR-10"))
    assert response.status_code == 400 and "location" in response.json()["details"]
    assert not Device.objects.filter(code="SENSOR-10").exists()  # nothing half-written


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (alarm(device_id=""), "device_id"),
        (alarm(device_id="有 空格"), "device_id"),
        (alarm(event_type=None), "event_type"),
        (alarm(snapshot_url="ftp://x/y.jpg"), "snapshot_url"),
        (alarm(lon=500, lat=INSIDE["lat"]), "lon"),
        (alarm(lon=INSIDE["lon"]), "location"),
        (alarm(occurred_at="yesterday"), "occurred_at"),
    ],
)
def test_bad_alarms_are_precise_400s(video, district, camera, body, field):
    response = video.post(URL, body)
    assert response.status_code == 400, response.content
    assert field in response.json()["details"]
    assert not Case.objects.exists()


def test_outside_the_district_disabled_devices_and_bad_bodies(video, district, camera, garbage):
    response = video.post(URL, alarm(**OUTSIDE))
    assert response.status_code == 400 and response.json()["details"] == {"location": "位置不在本辖区。"}
    Device.objects.filter(pk=camera.pk).update(active=False)
    response = video.post(URL, alarm())
    assert response.status_code == 400 and response.json()["code"] == "device_disabled"
    assert video.post(URL, raw="device_id=1", content_type="application/x-www-form-urlencoded").status_code == 415
    assert video.post(URL, raw="{", content_type="application/json").json()["code"] == "invalid_json"
    assert video.post(URL, raw="{" + " " * 70000 + "}", content_type="application/json").status_code == 413
    assert not Case.objects.exists()


def test_only_systems_may_raise_alarms(as_role, district, camera, garbage):
    assert as_role("operator").post(URL, alarm()).status_code == 403
    assert as_role("system").post(URL, alarm()).status_code == 201
