from django.urls import reverse

from cityops.accounts.models import User
from cityops.routing import registry
from cityops.routing.models import RoutingModel


def test_admin_lists_models_and_activates_and_rolls_back(client, db, trained):
    first = registry.model_save(trained, activate=True)
    second = registry.model_save(trained)
    admin = User.objects.create_superuser("root-admin", "root@example.com", "Demo-pass-123", must_change_password=False)
    client.force_login(admin)
    url = reverse("admin:routing_routingmodel_changelist")
    assert client.get(url).status_code == 200
    client.post(url, {"action": "activate_selected", "_selected_action": [second.pk]})
    assert RoutingModel.objects.get(active=True).pk == second.pk
    client.post(url, {"action": "rollback", "_selected_action": [second.pk]})
    assert RoutingModel.objects.get(active=True).pk == first.pk
    assert client.get(reverse("admin:routing_routingmodel_change", args=[first.pk])).status_code == 200
    assert client.get(reverse("admin:routing_routingsettings_changelist")).status_code == 200
