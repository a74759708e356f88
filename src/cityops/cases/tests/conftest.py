import pytest

from cityops.accounts.tests.factories import UserFactory
from cityops.cases.tests.factories import DepartmentFactory, LeafCategoryFactory


@pytest.fixture
def category(db):
    return LeafCategoryFactory()


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
        "dept": UserFactory(role="department", department=department),
        "other_dept": UserFactory(role="department", department=other_department),
        "sysadmin": UserFactory(role="sysadmin"),
        "auditor": UserFactory(role="auditor"),
    }
