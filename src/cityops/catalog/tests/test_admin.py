from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from cityops.catalog.models import Category
from cityops.catalog.tests.factories import CalendarOverrideFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged_in(client: Client) -> Client:
    user = get_user_model().objects.create_superuser(
        username="root-admin", password="x" * 12, email="", must_change_password=False
    )
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", ["category", "timelimit", "department", "responsibilityrule", "calendaroverride"])
def test_every_catalog_model_has_an_admin_list(admin_client_logged_in: Client, loaded_catalog, model: str) -> None:
    response = admin_client_logged_in.get(reverse(f"admin:catalog_{model}_changelist"))
    assert response.status_code == 200


def test_category_page_edits_its_time_limits_inline(admin_client_logged_in: Client, loaded_catalog) -> None:
    category = Category.objects.get(code="E0102")
    response = admin_client_logged_in.get(reverse("admin:catalog_category_change", args=[category.pk]))
    assert response.status_code == 200
    assert "处置时限" in response.content.decode()


def test_category_list_filters_and_searches(admin_client_logged_in: Client, loaded_catalog) -> None:
    url = reverse("admin:catalog_category_changelist")
    response = admin_client_logged_in.get(url, {"system__exact": "urban", "leaf": "yes", "q": "井盖"})
    assert response.status_code == 200
    assert "燃气井盖" in response.content.decode()


def test_responsibility_rule_form_opens(admin_client_logged_in: Client, loaded_catalog) -> None:
    response = admin_client_logged_in.get(reverse("admin:catalog_responsibilityrule_add"))
    assert response.status_code == 200


def test_calendar_override_list_shows_what_the_engine_would_say(admin_client_logged_in: Client) -> None:
    CalendarOverrideFactory(is_workday=True, date="2026-10-01", note="测试")
    response = admin_client_logged_in.get(reverse("admin:catalog_calendaroverride_changelist"))
    assert "放假（国庆节）" in response.content.decode()
