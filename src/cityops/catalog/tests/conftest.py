from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.db import transaction

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


@dataclass(frozen=True)
class LoadedCatalog:
    streets: dict[str, Region]
    report: LoadReport


@pytest.fixture(scope="module")
def loaded_catalog(django_db_setup: None, django_db_blocker) -> Iterator[LoadedCatalog]:
    """The shipped reference data, loaded once per module inside a transaction that is rolled back.

    Each test's own transaction nests inside it as a savepoint (as with TestCase.setUpTestData),
    so tests may write freely. Every test in a module that uses this must be fine with the whole
    catalog present: keep tests that need an empty catalog in other modules.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        streets = create_chengdong_streets()
        report = load_reference_data()
        yield LoadedCatalog(streets, report)
        transaction.set_rollback(True)
