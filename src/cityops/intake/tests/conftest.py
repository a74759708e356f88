"""Fixtures of the intake tests: the tiny two-grid district of support.py, an inspector of its
west grid, uploaded photos; a clean cache and geo index around each test."""

from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from cityops.accounts.tests.factories import UserFactory
from cityops.geo import lookup
from cityops.geo.models import Region, RegionLevel, UnitGrid
from cityops.intake.tests.support import MID, E, N, S, W, box, image_bytes


@pytest.fixture(autouse=True)
def _fresh_cache_and_geo_index():
    # Rate-limit counters and the geo index version live in the (process-local) cache, and the
    # lookup index in a module global: start each test clean so no test sees another's data.
    cache.clear()
    lookup.index_changed()
    yield
    cache.clear()
    lookup.index_changed()


@pytest.fixture
def geo(db):
    district = Region.objects.create(code="630102", name="城东区", level=RegionLevel.DISTRICT, boundary=box(W, S, E, N))
    street = Region.objects.create(code="630102001", name="东关大街街道", short_name="东关大街街道", level=RegionLevel.STREET,
                                   parent=district, boundary=box(W, S, E, N), synthetic=True)
    community = Region.objects.create(code="630102001001", name="北关社区居民委员会", short_name="北关社区",
                                      level=RegionLevel.COMMUNITY, parent=street, boundary=box(W, S, E, N), synthetic=True)
    west = UnitGrid.objects.create(code="63010200100101", name="北关01", community=community, street=street,
                                   boundary=box(W, S, MID, N), synthetic=True)
    east = UnitGrid.objects.create(code="63010200100102", name="北关02", community=community, street=street,
                                   boundary=box(MID, S, E, N), synthetic=True)
    lookup.index_changed()
    return SimpleNamespace(district=district, street=street, community=community, west=west, east=east)


@pytest.fixture
def inspector(geo):
    user = UserFactory(role="inspector", display_name="网格员 马")
    user.grids.add(geo.west)
    return user


@pytest.fixture
def jpeg():
    def make(name="photo.jpg", **kwargs):
        return SimpleUploadedFile(name, image_bytes(**kwargs), content_type="image/jpeg")

    return make
