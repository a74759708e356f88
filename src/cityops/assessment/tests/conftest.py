import pytest
from django.db import transaction

from cityops.assessment.tests.history import build


@pytest.fixture(scope="module")
def history(django_db_setup, django_db_blocker):
    """The fixed history of `history.py`, built once per test module inside a transaction that
    is rolled back when the module is done; each test runs in a savepoint inside it."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build()
        transaction.set_rollback(True)
