"""Who may manage routing models in the admin: the system administrator, not the other roles."""

from __future__ import annotations

import pytest
from django.test import Client

from cityops.accounts import roles
from cityops.accounts.services import roles_sync
from cityops.accounts.tests.factories import UserFactory
from cityops.routing.models import RoutingModel

pytestmark = pytest.mark.django_db


@pytest.fixture
def models(trained):
    from cityops.routing import registry

    first = registry.model_save(trained, activate=True)
    second = registry.model_save(trained, activate=False)
    return first, second


def _client(role):
    roles_sync()
    user = UserFactory(role=role)
    client = Client()
    client.force_login(user)
    return client


def test_the_system_administrator_activates_a_model_from_the_admin(models):
    _, second = models
    response = _client(roles.SYSADMIN).post(
        "/admin/routing/routingmodel/", {"action": "activate_selected", "_selected_action": [second.pk]}
    )
    assert response.status_code == 302
    assert RoutingModel.objects.get(active=True).pk == second.pk


@pytest.mark.parametrize("role", [roles.SECADMIN, roles.AUDITOR])
def test_other_staff_roles_cannot_reach_the_routing_models(models, role):
    _, second = models
    response = _client(role).post("/admin/routing/routingmodel/", {"action": "activate_selected", "_selected_action": [second.pk]})
    assert response.status_code == 403
    assert RoutingModel.objects.get(active=True).pk != second.pk
