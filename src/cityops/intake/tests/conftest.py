import io
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from cityops.accounts.tests.factories import UserFactory
from cityops.cases.tests.factories import DepartmentFactory, LeafCategoryFactory
from cityops.geo import lookup
from cityops.geo.models import Region, RegionLevel, UnitGrid

# A tiny district 630102 of 0.02° × 0.02° near Xining; one street, one community, two grids
# (west and east halves). Everything outside is "not in the district".
W, S, E, N = 101.80, 36.60, 101.82, 36.62
MID = (W + E) / 2
INSIDE_WEST = (101.805, 36.61)
INSIDE_EAST = (101.815, 36.61)
OUTSIDE = (101.90, 36.70)


def box(w, s, e, n):
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


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
def category(db):
    return LeafCategoryFactory(code="E9901", name="暴露垃圾")


@pytest.fixture
def department(db):
    return DepartmentFactory(code="chengguan", name="区城市管理局")


@pytest.fixture
def inspector(geo):
    user = UserFactory(role="inspector", display_name="网格员 马")
    user.grids.add(geo.west)
    return user


def image_bytes(fmt="JPEG", size=(64, 48), exif=None) -> bytes:
    buf = io.BytesIO()
    image = Image.new("RGB", size, (200, 80, 40))
    kwargs = {"exif": exif} if exif is not None else {}
    image.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


@pytest.fixture
def jpeg():
    def make(name="photo.jpg", **kwargs):
        return SimpleUploadedFile(name, image_bytes(**kwargs), content_type="image/jpeg")

    return make
