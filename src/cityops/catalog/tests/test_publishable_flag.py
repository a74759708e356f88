"""Which categories Open311 may publish (issue 14, finding 7): every category except the
sensitive ones listed in `NOT_PUBLISHABLE_CODES` when the catalogue is first loaded;
afterwards the administrators' choice, which a reload keeps."""

import importlib

from cityops.catalog.models import NOT_PUBLISHABLE_CODES, Category
from cityops.catalog.services import load_reference_data


def test_a_fresh_catalogue_publishes_all_but_the_sensitive_categories(reference_data) -> None:
    hidden = set(Category.objects.filter(publishable=False).values_list("code", flat=True))
    assert hidden == set(NOT_PUBLISHABLE_CODES)


def test_every_sensitive_code_names_a_catalogue_category(reference_data) -> None:
    names = dict(Category.objects.filter(code__in=NOT_PUBLISHABLE_CODES).values_list("code", "name"))
    assert names == NOT_PUBLISHABLE_CODES


def test_the_migration_hides_the_same_codes_as_the_loader() -> None:
    migration = importlib.import_module("cityops.catalog.migrations.0003_category_publishable")
    assert set(migration.NOT_PUBLISHABLE) == set(NOT_PUBLISHABLE_CODES)


def test_a_reload_keeps_the_administrators_choice(reference_data) -> None:
    Category.objects.filter(code="E0102").update(publishable=False)
    Category.objects.filter(code="E0502").update(publishable=True)
    load_reference_data()
    assert Category.objects.get(code="E0102").publishable is False
    assert Category.objects.get(code="E0502").publishable is True


def test_the_category_admin_edits_the_flag(client, reference_data) -> None:
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    user = get_user_model().objects.create_superuser(username="root-pub", password="x" * 12, email="", must_change_password=False)
    client.force_login(user)
    category = Category.objects.get(code="E0102")
    html = client.get(reverse("admin:catalog_category_change", args=[category.pk])).content.decode()
    assert 'name="publishable"' in html and "对外公开 (Open311)" in html
