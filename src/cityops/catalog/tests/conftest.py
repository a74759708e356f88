from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache

from cityops.catalog import selectors, workcal
from cityops.catalog.services import LoadReport, load_reference_data
from cityops.catalog.tests.factories import create_chengdong_streets
from cityops.geo.models import Region


@pytest.fixture(autouse=True)
def _fresh_catalog_caches() -> Iterator[None]:
    # In-process caches survive the rollback that ends each test; start and end clean.
    def clear() -> None:
        workcal.clear_cache()
        selectors.suggestion_index_changed()
        cache.delete(workcal.VERSION_CACHE_KEY)

    clear()
    yield
    clear()


@pytest.fixture
def streets(db: None) -> dict[str, Region]:
    return create_chengdong_streets()


@pytest.fixture
def reference_data(streets: dict[str, Region]) -> LoadReport:
    """The shipped reference data loaded on top of the district's streets."""
    return load_reference_data()
