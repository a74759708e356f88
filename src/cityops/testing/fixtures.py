"""Fixtures shared by the tests of every app: a pytest plugin, registered from the root
`conftest.py` (`pytest_plugins`). A `conftest.py` nearer a test may override one of these with
a fixture of the same name; keep such overrides for what is really local to that package."""

from __future__ import annotations

import pytest

from cityops.accounts.tests.factories import UserFactory
from cityops.cases.tests.factories import DepartmentFactory, LeafCategoryFactory
from cityops.testing import square


@pytest.fixture
def category(db):
    """A leaf category (小类) with the full set of time limits."""
    return LeafCategoryFactory(code="E9901", name="暴露垃圾")


@pytest.fixture
def department(db):
    return DepartmentFactory(code="chengguan", name="区城市管理局")


@pytest.fixture
def other_department(db):
    return DepartmentFactory(code="zhujian", name="区住建局")


@pytest.fixture
def people(db, department, other_department):
    """One user per role; `dept` belongs to `department`, `other_dept` to `other_department`."""
    return {
        "operator": UserFactory(role="operator"),
        "dispatcher": UserFactory(role="dispatcher"),
        "leader": UserFactory(role="leader"),
        "inspector": UserFactory(role="inspector"),
        "system": UserFactory(role="system"),
        "dept": UserFactory(role="department", department=department),
        "other_dept": UserFactory(role="department", department=other_department),
        "sysadmin": UserFactory(role="sysadmin"),
        "auditor": UserFactory(role="auditor"),
    }


@pytest.fixture
def district(db, settings):
    """The one-square district of `cityops.testing.square`: district → street → community → grid."""
    from cityops.geo import lookup

    settings.CITYOPS_DISTRICT_CODE = square.DISTRICT
    yield square.build_district()
    # The test transaction rolls back without signals: never let this index leak into other tests.
    lookup.reset_index()


@pytest.fixture
def as_role(people):
    """`as_role("operator")` → an ApiClient with that user's bearer token."""
    from cityops.api.tests.client import ApiClient

    clients: dict = {}

    def make(role: str):
        if role not in clients:
            clients[role] = ApiClient(people[role])
        return clients[role]

    return make


@pytest.fixture
def report(category):
    """`report(**overrides)` → a valid case body inside the square (overrides set to None are dropped)."""

    def make(**overrides):
        return {k: v for k, v in square.case_body(category, **overrides).items() if v is not None}

    return make

