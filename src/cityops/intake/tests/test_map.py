import pytest
from django.urls import reverse

from cityops.geo.models import Region
from cityops.intake.tests.support import INSIDE_EAST, INSIDE_WEST, OUTSIDE

pytestmark = pytest.mark.django_db


def test_regions_geojson_is_a_feature_collection(client, geo):
    response = client.get(reverse("intake:regions_geojson"), {"level": "district,street"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/geo+json")
    assert "public" in response["Cache-Control"]
    data = response.json()
    assert data["type"] == "FeatureCollection"
    levels = {f["properties"]["level"] for f in data["features"]}
    assert levels == {"district", "street"}
    street = next(f for f in data["features"] if f["properties"]["level"] == "street")
    assert street["properties"] == {
        "code": "630102001", "name": "东关大街街道", "short_name": "东关大街街道", "level": "street",
        "parent": "630102", "synthetic": True, "cp": [101.81, 36.61],
    }
    assert street["geometry"]["type"] == "Polygon"
    assert data["synthetic"] is True


def test_regions_geojson_answers_304_for_its_etag_and_changes_with_the_data(client, geo):
    url = reverse("intake:regions_geojson")
    first = client.get(url, {"level": "community"})
    assert client.get(url, {"level": "community"}, headers={"if-none-match": first["ETag"]}).status_code == 304
    Region.objects.filter(pk=geo.community.pk).update(name="改名社区")
    geo.community.name = "改名社区"
    geo.community.save()  # the signal bumps the geo version
    second = client.get(url, {"level": "community"})
    assert second["ETag"] != first["ETag"]
    assert second.json()["features"][0]["properties"]["name"] == "改名社区"


def test_regions_geojson_rejects_unknown_levels(client, geo):
    response = client.get(reverse("intake:regions_geojson"), {"level": "planet"})
    assert response.status_code == 400


def test_regions_geojson_simplifies_detailed_boundaries(client, geo):
    # A street edge with 400 tiny zig-zags (1e-6°) comes out as a handful of points.
    w, s, e, n = 101.80, 36.60, 101.82, 36.62
    edge = [[w + i * (e - w) / 400, s + (1e-6 if i % 2 else 0)] for i in range(401)]
    ring = [*edge, [e, n], [w, n], [w, s]]
    geo.street.boundary = {"type": "Polygon", "coordinates": [ring]}
    geo.street.save()
    data = client.get(reverse("intake:regions_geojson"), {"level": "street"}).json()
    assert len(data["features"][0]["geometry"]["coordinates"][0]) < 20


def test_locate_names_street_community_and_grid(client, geo):
    response = client.get(reverse("intake:locate"), {"lon": INSIDE_EAST[0], "lat": INSIDE_EAST[1]})
    assert response.status_code == 200
    data = response.json()
    assert data["street"] == {"code": "630102001", "name": "东关大街街道"}
    assert data["community"] == {"code": "630102001001", "name": "北关社区"}
    assert data["grid"]["code"] == "63010200100102"
    assert data["grid"]["name"] == "北关02"
    west = client.get(reverse("intake:locate"), {"lon": INSIDE_WEST[0], "lat": INSIDE_WEST[1]}).json()
    assert west["grid"]["code"] == "63010200100101"


def test_locate_outside_the_district_is_a_400_with_a_chinese_message(client, geo):
    response = client.get(reverse("intake:locate"), {"lon": OUTSIDE[0], "lat": OUTSIDE[1]})
    assert response.status_code == 400
    assert response.json() == {"error": "位置不在本辖区"}


@pytest.mark.parametrize("params", [{}, {"lon": "abc", "lat": "36.6"}, {"lon": "nan", "lat": "36.6"}, {"lon": "500", "lat": "36"}])
def test_locate_rejects_malformed_coordinates(client, geo, params):
    response = client.get(reverse("intake:locate"), params)
    assert response.status_code == 400
    assert response.json()["error"] == "坐标格式不正确"


def test_map_picker_include_renders_its_contract(client, geo):
    html = client.get(reverse("intake:report")).content.decode()
    assert 'name="lon"' in html and 'name="lat"' in html
    assert 'name="coord_system" value="wgs84"' in html
    assert "data-mappick" in html
    assert 'data-geojson-url="/map/regions.geojson?level=district,street"' in html
    assert 'data-locate-url="/map/locate/"' in html
    assert "intake/mappick.js" in html
    assert "演示网格为合成数据" in html
    assert "<script>" not in html  # no inline scripts (CSP)
