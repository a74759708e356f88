"""Which categories need an after-photo on 处置反馈 (issue 12): every 部件 when the catalogue is
first loaded; afterwards the administrators' choice, which a reload keeps."""

from cityops.catalog.models import Category, CategoryKind
from cityops.catalog.services import load_reference_data


def test_a_fresh_catalogue_asks_an_after_photo_for_every_part_and_no_event(reference_data) -> None:
    parts = Category.objects.filter(kind=CategoryKind.PART)
    assert parts.exists() and not parts.filter(requires_after_photo=False).exists()
    assert not Category.objects.exclude(kind=CategoryKind.PART).filter(requires_after_photo=True).exists()


def test_a_reload_keeps_the_administrators_choice(reference_data) -> None:
    part = Category.objects.filter(kind=CategoryKind.PART, children__isnull=True).first()
    Category.objects.filter(pk=part.pk).update(requires_after_photo=False)
    load_reference_data()
    assert Category.objects.get(pk=part.pk).requires_after_photo is False


def test_the_category_admin_edits_the_flag(client, reference_data) -> None:
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    user = get_user_model().objects.create_superuser(username="root-photo", password="x" * 12, email="", must_change_password=False)
    client.force_login(user)
    category = Category.objects.get(code="E0102")
    html = client.get(reverse("admin:catalog_category_change", args=[category.pk])).content.decode()
    assert 'name="requires_after_photo"' in html and "处置反馈须附处置后照片" in html
