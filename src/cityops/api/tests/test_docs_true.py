"""docs/integration.md is true: unknown city-order fields are kept, the alarm example lies in
the district and is mapped in the demo, the documented settings come from the environment,
and an API key cannot revoke "its token"."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest
from django.test import Client

from cityops.api.tests.keyclient import KeyClient
from cityops.cases.tests.factories import LeafCategoryFactory
from cityops.geo import lookup
from cityops.intake.mapping import Mappings, demo_mappings_ensure
from cityops.intake.models import AddressMapping, AlarmTypeMapping, CityCategoryMapping, IntakeRecord
from cityops.testing.square import INSIDE

pytestmark = pytest.mark.django_db
DOCS = Path(__file__).resolve().parents[4] / "docs"
INTEGRATION = (DOCS / "integration.md").read_text(encoding="utf-8")
DISTRICT_OUTLINE = Path(__file__).resolve().parents[2] / "geo" / "data" / "district_630102.geojson"


def _alarm_example() -> dict:
    block = INTEGRATION.split("## Video / IoT alarms", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    return json.loads(block)


@pytest.fixture
def real_district(db, settings):
    """District 630102 with its real outline; one street, community and grid covering all of it."""
    from cityops.geo.models import Region, RegionLevel, UnitGrid

    settings.CITYOPS_DISTRICT_CODE = "630102"
    outline = json.loads(DISTRICT_OUTLINE.read_text(encoding="utf-8"))["features"][0]["geometry"]
    root = Region.objects.create(code="630102", name="城东区", level=RegionLevel.DISTRICT, boundary=outline)
    street = Region.objects.create(code="630102001", name="东关大街街道", level=RegionLevel.STREET, parent=root, boundary=outline)
    community = Region.objects.create(code="630102001001", name="北关社区", level=RegionLevel.COMMUNITY, parent=street, boundary=outline)
    UnitGrid.objects.create(code="63010200100101", community=community, street=street, boundary=outline)
    lookup.reset_index()
    yield street
    lookup.reset_index()


@pytest.fixture
def demo_categories(db):
    return {code: LeafCategoryFactory(code=code, name=name)
            for code, name in [("E0102", "暴露垃圾"), ("E0406", "道路积水"), ("P0118", "路灯"), ("E0507", "乱堆物料")]}


def test_unknown_city_order_fields_are_kept_in_the_intake_record(district):
    city = KeyClient.issue("市12345平台")
    order = {"order_no": "SJ1", "description": "垃圾成堆", **INSIDE, "hotline_seat": "A12",
             "visit": {"times": 2, "channel": "电话"}}
    response = city.post("/intake/city", order)
    assert response.status_code == 201, response.content
    record = IntakeRecord.objects.get(case__number=response.json()["case"])
    assert record.payload["extra"] == {"hotline_seat": "A12", "visit": {"times": 2, "channel": "电话"}}
    assert record.payload["order_no"] == "SJ1"


def test_unknown_fields_too_big_to_keep_refuse_the_order(district):
    city = KeyClient.issue("市12345平台")
    response = city.post("/intake/city", {"order_no": "SJ2", "description": "垃圾成堆", **INSIDE, "blob": "长" * 30_000})
    assert response.status_code == 400 and response.json()["details"] == {"extra": "too_large"}


def test_the_documented_alarm_example_creates_a_mapped_case_inside_the_district(real_district, demo_categories):
    demo_mappings_ensure()
    response = KeyClient.issue("视频平台").post("/intake/alarm", _alarm_example())
    assert response.status_code == 201, response.content
    assert response.json()["category"] == "E0102"


def test_the_demo_maps_the_documented_city_category_and_address_examples(real_district, demo_categories):
    demo_mappings_ensure()
    maps = Mappings.load()
    assert "城乡建设/市容环卫/垃圾清运" in INTEGRATION
    assert maps.category_for("城乡建设/市容环卫/垃圾清运") == "E0102"
    point = maps.point_for("东关大街 12 号")
    assert point is not None and lookup.locate(point.lon, point.lat).street_code == real_district.code


def test_demo_mappings_are_added_once_and_never_overwrite_an_administrators_rows(real_district, demo_categories):
    AlarmTypeMapping.objects.create(event_type="garbage_overflow", label="管理员改过", category=demo_categories["E0406"])
    first = demo_mappings_ensure()
    assert first["alarm_types"] == 3 and first["city_categories"] == 4 and first["addresses"] == 2
    assert demo_mappings_ensure() == {"city_categories": 0, "alarm_types": 0, "addresses": 0}
    assert AlarmTypeMapping.objects.get(event_type="garbage_overflow").label == "管理员改过"
    assert CityCategoryMapping.objects.count() == 4 and AddressMapping.objects.count() == 2


def test_the_demo_command_loads_the_mapping_rows():
    from cityops.web.demo import DEMO_STEPS

    assert "api_demo_mappings" in [command for _, command in DEMO_STEPS]


ENVIRONMENT = {
    "CITYOPS_INGEST_MAX_BYTES": ("1048576", 1048576),
    "CITYOPS_ALARM_DEDUPE_MINUTES": ("5", 5),
    "CITYOPS_WEBHOOK_MAX_ATTEMPTS": ("4", 4),
    "CITYOPS_WEBHOOK_ALLOWED_HOSTS": ("hooks.example.gov.cn,10.8.0.0/24", ["hooks.example.gov.cn", "10.8.0.0/24"]),
    "CITYOPS_WEBHOOK_REQUIRE_HTTPS": ("0", False),
    "CITYOPS_OPEN311_JURISDICTION": ("xining.chengdong", "xining.chengdong"),
    "CITYOPS_OPEN311_CHANNELS": ("web,iot", ["web", "iot"]),
    "CITYOPS_OPEN311_COORD_DECIMALS": ("2", 2),
    "CITYOPS_OPEN311_SHOW_DEPARTMENT": ("1", True),
    "CITYOPS_SLA_SCAN_CONNECTIONS": ("3", 3),
    "CITYOPS_CACHE_RETRY_SECONDS": ("7", 7),
    "AUDIT_API_KEY_WINDOW_MINUTES": ("15", 15),
    "CITYOPS_RETURN_NEEDS_ACCEPTANCE": ("0", False),
}


def test_every_setting_integration_md_names_is_listed_here():
    named = set(re.findall(r"CITYOPS_[A-Z0-9_]+", INTEGRATION))
    assert named <= set(ENVIRONMENT)


def test_the_documented_settings_are_read_from_the_environment(monkeypatch):
    import config.settings.base as base

    for name, (raw, _) in ENVIRONMENT.items():
        monkeypatch.setenv(name, raw)
    try:
        fresh = importlib.reload(base)
        assert {name: getattr(fresh, name, None) for name in ENVIRONMENT} == {name: value for name, (_, value) in ENVIRONMENT.items()}
    finally:
        monkeypatch.undo()
        importlib.reload(base)


def test_an_api_key_cannot_call_the_token_revocation_and_gets_a_401(district):
    key = KeyClient.issue("视频平台")
    response = Client().delete("/api/v1/auth/token", **key.headers)
    assert response.status_code == 401 and response.json()["code"] == "unauthorized"
