"""Issue 15: the intake models moved from the api app to intake with their tables and rows
(api.0004 and intake.0001 change only Django's state; intake.0002 moves the content types, so
permissions, the groups holding them and the admin history stay). Each test starts from a
database at api.0003 with rows written by the models as they were, then migrates forward."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from cityops.cases.tests.factories import make_case

BEFORE = [("api", "0003_mask_intake_bodies"), ("intake", None)]
MOVED = ("citycategorymapping", "addressmapping", "device", "alarmtypemapping", "intakerecord")


def _leaves():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.fixture
def before_the_move(transactional_db):
    """The database as it was: the models' state in api, their content types labelled api
    (migrating back runs intake.0002 backwards)."""
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    executor.loader.build_graph()
    yield executor.loader.project_state(BEFORE[0]).apps
    MigrationExecutor(connection).migrate(_leaves())
    ContentType.objects.clear_cache()


def test_rows_written_before_the_move_are_read_by_the_intake_models(before_the_move):
    old = before_the_move
    case = make_case()
    old.get_model("api", "Device").objects.create(code="CAM-0001", name="东关大街口球机", lon=101.78, lat=36.62)
    old.get_model("api", "CityCategoryMapping").objects.create(city_text="城乡建设/市容环卫/垃圾清运")
    old.get_model("api", "AlarmTypeMapping").objects.create(event_type="garbage_overflow", label="垃圾满溢")
    old.get_model("api", "AddressMapping").objects.create(pattern="北关社区", lon=101.78, lat=36.62)
    old.get_model("api", "IntakeRecord").objects.create(case_id=case.pk, channel="iot", device_code="CAM-0001",
                                                        payload={"device_id": "CAM-0001"}, repeat_count=2)

    MigrationExecutor(connection).migrate(_leaves())

    from cityops.intake.models import (
        AddressMapping,
        AlarmTypeMapping,
        CityCategoryMapping,
        Device,
        IntakeRecord,
    )

    assert Device.objects.get(code="CAM-0001").name == "东关大街口球机"
    assert CityCategoryMapping.objects.get().city_text == "城乡建设/市容环卫/垃圾清运"
    assert AlarmTypeMapping.objects.get().label == "垃圾满溢"
    assert AddressMapping.objects.get().pattern == "北关社区"
    record = IntakeRecord.objects.get(case=case)
    assert (record.device_code, record.repeat_count, record.payload) == ("CAM-0001", 2, {"device_id": "CAM-0001"})
    assert IntakeRecord._meta.db_table == "api_intakerecord"


def test_a_groups_permission_on_a_moved_model_follows_it_to_intake(before_the_move):
    content_type = ContentType.objects.get(app_label="api", model="intakerecord")
    permission = Permission.objects.get(content_type=content_type, codename="view_intakerecord")
    group = Group.objects.create(name="迁移前的组")
    group.permissions.add(permission)

    MigrationExecutor(connection).migrate(_leaves())
    ContentType.objects.clear_cache()

    moved = ContentType.objects.get(pk=content_type.pk)
    assert (moved.app_label, moved.model) == ("intake", "intakerecord")
    assert not ContentType.objects.filter(app_label="api", model__in=MOVED).exists()
    assert list(group.permissions.values_list("pk", "content_type__app_label", "codename")) == [
        (permission.pk, "intake", "view_intakerecord")]


def test_an_intake_content_type_made_in_between_gets_the_old_ones_permissions(before_the_move):
    """A `migrate` of another app between the two steps may already have created intake's row."""
    old_type = ContentType.objects.get(app_label="api", model="device")
    new_type = ContentType.objects.create(app_label="intake", model="device")
    made_in_between = Permission.objects.create(content_type=new_type, codename="view_device", name="Can view 感知设备")
    group = Group.objects.create(name="迁移前的组")
    group.permissions.add(Permission.objects.get(content_type=old_type, codename="view_device"))

    MigrationExecutor(connection).migrate(_leaves())
    ContentType.objects.clear_cache()

    assert not ContentType.objects.filter(pk=old_type.pk).exists()
    assert list(group.permissions.all()) == [made_in_between]
    assert Permission.objects.filter(content_type=new_type).count() == 4  # add, change, delete, view
