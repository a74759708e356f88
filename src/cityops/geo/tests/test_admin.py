import pytest
from django.urls import reverse

from cityops.geo.models import Region


@pytest.mark.django_db
@pytest.mark.parametrize("model", ["region", "unitgrid"])
def test_admin_lists_and_shows_geo_rows(admin_client, reference_regions, model):
    from cityops.geo.services import generate_demo_partition

    generate_demo_partition(street_codes=["630102001"])
    response = admin_client.get(reverse(f"admin:geo_{model}_changelist"), {"q": "630102001"})
    assert response.status_code == 200
    assert "630102001" in response.content.decode()
    obj = (
        Region.objects.get(code="630102001001")
        if model == "region"
        else Region.objects.get(code="630102001001").grids.first()
    )
    response = admin_client.get(reverse(f"admin:geo_{model}_change", args=[obj.pk]))
    assert response.status_code == 200
    assert "Polygon" in response.content.decode()
