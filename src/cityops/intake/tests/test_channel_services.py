"""The intake services called by the API's thin handlers, without HTTP: city orders through the
mapping tables (`intake.channels`), alarms with the device lock and de-duplication
(`intake.alarms`). The endpoints' answers are tested in api/tests (test_ingest, test_alarms)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cityops.accounts.tests.factories import UserFactory
from cityops.cases.errors import ValidationFailed
from cityops.cases.models import Case
from cityops.intake.alarms import Alarm, DeviceDisabled, alarm_receive
from cityops.intake.channels import CityOrder, city_category, city_location, city_order_receive
from cityops.intake.mapping import Mappings
from cityops.intake.models import AddressMapping, CityCategoryMapping, Device, IntakeRecord
from cityops.testing.square import INSIDE

pytestmark = pytest.mark.django_db


@pytest.fixture
def system(db):
    return UserFactory(role="system")


def order(**overrides) -> CityOrder:
    fields = {"order_no": "SJ1", "description": "小区门口垃圾成堆", "case_type": "complaint"} | overrides
    return CityOrder(**fields)


def test_a_city_text_is_mapped_through_the_table_and_its_last_segment(category):
    CityCategoryMapping.objects.create(city_text="垃圾清运", category=category)
    maps = Mappings.load()
    assert city_category(order(category_text="城乡建设 > 市容环卫 > 垃圾清运"), maps) == ("E9901", [])


def test_an_unmapped_city_text_gives_no_category_and_a_note_for_the_operator(category):
    assert city_category(order(category_text="市政设施/路灯"), Mappings.load()) == (None, ["【市平台分类（未映射）】市政设施/路灯"])


def test_our_own_leaf_code_needs_no_mapping(category):
    assert city_category(order(category_code="E9901", category_text="随便写的"), Mappings.load()) == ("E9901", [])


def test_an_address_without_coordinates_is_placed_by_the_longest_mapped_keyword(db):
    AddressMapping.objects.create(pattern="北关", lon=1.0, lat=2.0)
    AddressMapping.objects.create(pattern="北关社区", lon=INSIDE["lon"], lat=INSIDE["lat"])
    place, notes = city_location(order(address="北关社区3号楼"), Mappings.load())
    assert (place.lon, place.lat, place.source, notes) == (INSIDE["lon"], INSIDE["lat"], "address_mapping", [])


def test_an_address_nobody_mapped_leaves_the_case_unplaced_with_a_note(db):
    place, notes = city_location(order(address="某某路"), Mappings.load())
    assert (place.lon, place.source, notes) == (None, "none", ["【市平台地址（未定位）】某某路"])


def test_a_city_order_is_created_once_and_its_unmapped_text_listed_for_the_admin(district, system):
    first, created = city_order_receive(order(category_text="市政设施/路灯/不亮"), actor=system, api_key=None,
                                        source="市级12345平台", maps=Mappings.load())
    again, created_again = city_order_receive(order(), actor=system, api_key=None, source="市级12345平台", maps=Mappings.load())
    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert CityCategoryMapping.objects.get(city_text="市政设施/路灯/不亮").category_id is None
    assert IntakeRecord.objects.get(case=first).location_source == "none"


def alarm(**overrides) -> Alarm:
    return Alarm(**({"device_code": "CAM-1", "event_type": "garbage_overflow"} | overrides))


def test_an_alarm_of_a_new_device_registers_it_unverified_and_opens_a_case(district, system):
    receipt = alarm_receive(alarm(lon=INSIDE["lon"], lat=INSIDE["lat"]), actor=system, api_key=None, source="视频")
    assert receipt.created and receipt.case.channel == "iot"
    assert Device.objects.get(code="CAM-1").verified is False


def test_a_repeat_within_the_window_is_counted_on_the_open_case(district, system):
    now = timezone.now()
    first = alarm_receive(alarm(lon=INSIDE["lon"], lat=INSIDE["lat"]), actor=system, api_key=None, source="视频", now=now)
    again = alarm_receive(alarm(lon=INSIDE["lon"], lat=INSIDE["lat"]), actor=system, api_key=None, source="视频",
                          now=now + timedelta(minutes=10))
    assert (again.created, again.case.pk, again.repeat_count) == (False, first.case.pk, 1)
    assert Case.objects.count() == 1


def test_a_disabled_device_is_refused_and_nothing_is_written(district, system):
    Device.objects.create(code="CAM-1", active=False, lon=INSIDE["lon"], lat=INSIDE["lat"])
    with pytest.raises(DeviceDisabled) as refused:
        alarm_receive(alarm(), actor=system, api_key=None, source="视频")
    assert (refused.value.code, refused.value.details) == ("device_disabled", {"device_id": "disabled"})
    assert not Case.objects.exists()


def test_an_alarm_without_a_location_anywhere_is_refused_and_the_new_device_not_kept(district, system):
    with pytest.raises(ValidationFailed) as refused:
        alarm_receive(alarm(device_code="SENSOR-9"), actor=system, api_key=None, source="视频")
    assert refused.value.details == {"location": "请提供经纬度，或先在后台登记设备位置"}
    assert not Device.objects.filter(code="SENSOR-9").exists()


def test_a_too_long_event_id_is_refused_before_anything_is_written(db, system):
    with pytest.raises(ValidationFailed) as refused:
        alarm_receive(alarm(event_id="x" * 64), actor=system, api_key=None, source="视频")
    assert refused.value.details == {"event_id": "too_long"}
    assert not Device.objects.exists()
