"""Fixtures of the analytics tests: a tiny district (two streets, a community and a grid each),
and a helper that runs on_commit callbacks (the rollups are
updated from `case_events_committed`, sent after commit)."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from cityops.analytics import refs
from cityops.analytics.tests.support import DISTRICT, box
from cityops.cases.tests.factories import LeafCategoryFactory
from cityops.geo import lookup


@pytest.fixture(autouse=True)
def _fresh_caches():
    cache.clear()
    refs.reset()
    lookup.reset_index()
    yield
    cache.clear()
    refs.reset()
    lookup.reset_index()


@pytest.fixture
def district(db, settings):
    """District 630102 → streets 001 (west half) and 002 (east half) → one community and one grid each."""
    from cityops.geo.models import Region, RegionLevel, UnitGrid

    settings.CITYOPS_DISTRICT_CODE = DISTRICT
    root = Region.objects.create(code=DISTRICT, name="城东区", level=RegionLevel.DISTRICT, boundary=box(101.775, 36.615, 101.815, 36.635))
    out = {"district": root}
    for i, (w, e) in enumerate(((101.775, 101.795), (101.795, 101.815)), start=1):
        square = box(w, 36.615, e, 36.635)
        street = Region.objects.create(code=f"{DISTRICT}00{i}", name=f"第{i}街道", short_name=f"第{i}街道",
                                       level=RegionLevel.STREET, parent=root, boundary=square, area_m2=4e6)
        community = Region.objects.create(code=f"{DISTRICT}00{i}001", name=f"第{i}社区", level=RegionLevel.COMMUNITY,
                                          parent=street, boundary=square, area_m2=4e6)
        grid = UnitGrid.objects.create(code=f"{DISTRICT}00{i}00101", community=community, street=street, boundary=square, area_m2=4e6)
        out[f"street{i}"], out[f"community{i}"], out[f"grid{i}"] = street, community, grid
    lookup.reset_index()
    refs.reset()
    return out


@pytest.fixture
def other_category(db):
    return LeafCategoryFactory(code="E9902", name="占道经营")


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed(): …` runs the block's on_commit callbacks (the rollup receiver) at its end."""

    def runner():
        return django_capture_on_commit_callbacks(execute=True)

    return runner
