"""The API keeps a user's roles and permissions, categories, time limits and whether anyone
subscribes to webhooks per process; an administrator's change must still take effect on the
next call. These tests run outside a test transaction
(`transactional_db`) because only committed reads are cached."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import Group

from cityops.accounts.tests.factories import UserFactory
from cityops.api import webhooks
from cityops.api.models import WebhookDelivery, WebhookSubscription
from cityops.api.tests.client import ApiClient
from cityops.api.tests.service_accounts import service_account
from cityops.catalog.models import Category, TimeLimit

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def operator(district, category):
    return UserFactory(role="operator")


def test_removing_the_role_refuses_the_next_intake(operator, report):
    api = ApiClient(operator)
    assert api.post("/cases", report()).status_code == 201
    assert api.post("/cases", report()).status_code == 201  # served from the cache
    operator.groups.clear()
    response = api.post("/cases", report())
    assert response.status_code == 403, response.json()


def test_removing_a_permission_from_the_role_refuses_the_next_intake(operator, report):
    api = ApiClient(operator)
    assert api.post("/cases", report()).status_code == 201
    group = Group.objects.get(name="operator")
    group.permissions.remove(*group.permissions.filter(codename="add_case"))
    assert api.post("/cases", report()).status_code == 403


def _deactivate(category):
    category.active = False
    category.save()


def _subdivide(category):
    Category.objects.create(code=f"{category.code}01", name="子类", parent=category, system=category.system, kind=category.kind)


@pytest.mark.parametrize(("change", "complaint"), [(_deactivate, "不存在"), (_subdivide, "大类")],
                         ids=["deactivated", "gains_children"])
def test_a_changed_category_is_refused_on_the_next_intake(operator, report, category, change, complaint):
    api = ApiClient(operator)
    assert api.post("/cases", report()).status_code == 201
    change(category)
    response = api.post("/cases", report())
    assert response.status_code == 400
    assert "category" in response.json()["details"]
    assert complaint in response.json()["message"]


def test_a_changed_time_limit_applies_to_the_next_case(operator, report, category):
    api = ApiClient(operator)
    assert api.post("/cases", report()).status_code == 201
    TimeLimit.objects.update_or_create(category=category, stage="register", urgency="normal", defaults={"value": 30, "unit": "day"})
    case = api.post("/cases", report()).json()
    opened, deadline = (datetime.fromisoformat(case[key]) for key in ("created_at", "deadline"))
    assert deadline - opened == timedelta(days=30)


def test_a_new_webhook_subscription_receives_the_next_event(operator, report):
    api = ApiClient(operator)
    assert api.post("/cases", report()).status_code == 201  # "nobody subscribes" is now cached
    WebhookSubscription.objects.create(name="大屏", account=service_account("leader"), url="https://example.org/hook",
                                       events=["*"], secret=webhooks.new_secret())
    number = api.post("/cases", report()).json()["number"]
    assert WebhookDelivery.objects.filter(case_event__case__number=number).count() == 1


def cached_client(user) -> ApiClient:
    """A client whose token row this process has cached (the first call records last use and
    reloads; the second is served from the cache)."""
    api = ApiClient(user)
    assert api.get("/cases").status_code == 200
    assert api.get("/cases").status_code == 200
    return api


def test_a_revoked_token_is_refused_on_the_next_call(operator):
    from cityops.api.models import ApiToken
    from cityops.api.tokens import token_revoke

    api = cached_client(operator)
    token_revoke(record=ApiToken.objects.get(user=operator))
    assert api.get("/cases").status_code == 401


def test_a_token_revoked_in_the_admin_is_refused_on_the_next_call(operator, admin_client):
    from cityops.api.models import ApiToken

    api = cached_client(operator)
    token = ApiToken.objects.get(user=operator)
    response = admin_client.post("/admin/api/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert response.status_code == 302
    assert api.get("/cases").status_code == 401


def test_a_deactivated_user_is_refused_on_the_next_call(operator):
    api = cached_client(operator)
    operator.is_active = False
    operator.save()
    assert api.get("/cases").status_code == 401


def test_a_password_reset_to_initial_stops_the_token_on_the_next_call(operator):
    api = cached_client(operator)
    operator.must_change_password = True
    operator.save()
    response = api.get("/cases")
    assert response.status_code == 403
    assert response.json()["code"] == "password_change_required"
