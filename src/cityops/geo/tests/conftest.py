"""Fixtures of the geo tests. The full synthetic partition is expensive (a few seconds), so it is
computed once per session in memory and written to the database once per module that
needs it, instead of once per test."""

from __future__ import annotations

import pytest
from django.conf import settings

from cityops.geo import lookup, reference, services, synthetic
from cityops.geo.models import Region, RegionLevel, UnitGrid

DISTRICT = "630102"


@pytest.fixture(autouse=True)
def _fresh_lookup_index():
    # Test transactions roll back without signals; never let one test's index leak into the next.
    lookup.reset_index()
    yield
    lookup.reset_index()


@pytest.fixture(scope="session")
def district_geom():
    return reference.district_boundary(DISTRICT)


@pytest.fixture(scope="session")
def street_specs():
    return synthetic.specs_from_reference(reference.reference_regions(DISTRICT)["regions"])


@pytest.fixture(scope="session")
def full_partition(district_geom, street_specs) -> synthetic.SyntheticPartition:
    return synthetic.generate_partition(district_geom, street_specs)


@pytest.fixture
def reference_regions(db):
    services.load_reference_regions()


def _purge_geo() -> None:
    UnitGrid.objects.all().delete()
    for level in (RegionLevel.COMMUNITY, RegionLevel.STREET, RegionLevel.DISTRICT):
        Region.objects.filter(level=level).delete()


@pytest.fixture(scope="module")
def demo_db(django_db_setup, django_db_blocker):
    """The full demo partition, committed once for the module and removed afterwards."""
    assert settings.CITYOPS_DISTRICT_CODE == DISTRICT
    with django_db_blocker.unblock():
        _purge_geo()
        result = services.generate_demo_partition()
        yield result
        _purge_geo()
    lookup.reset_index()
