"""Fixtures shared by every test package: the autouse ones below, and the plugin
`cityops.testing.fixtures` (people, departments, a category, the one-square district…).
A test module never imports a conftest or another test module: shared helpers live in
`cityops.testing`, one app's own helpers in a module of its `tests/` not named `test_*`."""

import pytest

from cityops.common import refcache

pytest_plugins = ["cityops.testing.fixtures"]


@pytest.fixture(autouse=True)
def _fresh_reference_caches():
    """Each test starts with empty per-process reference caches: the database is reset between
    tests without the signals that would otherwise clear them."""
    refcache.clear_all()
    yield
    refcache.clear_all()


@pytest.fixture
def admin_user(db, django_user_model, django_username_field):
    """pytest-django's superuser, as one who has already replaced the initial password
    (a superuser made by `create_superuser` must change it first, and every page would
    send the test client to the change page)."""
    return django_user_model.objects.create_superuser(
        **{django_username_field: "admin"}, email="admin@example.com", password="Admin-pass-2026", must_change_password=False
    )
