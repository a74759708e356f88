"""Open311 against a real HTTP server (pytest-django's live_server):

* a published GeoReport v2 client library, `civicbot` (PyPI, its `Open311Client`), lists
  the services, posts a request with an api_key and reads it back;
* a plain urllib client does the same round trip in XML, the spec's required format.

A posted case is public once registered (立案): the tests register it before reading back.
"""

import urllib.error
import urllib.parse
import urllib.request

import pytest
from django.utils import timezone

from cityops.api.keys import apikey_issue
from cityops.api.tests.open311_shapes import check_json, check_xml
from cityops.cases.models import Case
from cityops.testing.square import INSIDE

pytestmark = pytest.mark.django_db(transaction=True)


def register(number: str) -> None:
    """The operator's 立案, as far as Open311 cares."""
    Case.objects.filter(number=number).update(status="registered", registered_at=timezone.now())


def test_a_published_georeport_client_lists_posts_and_reads_back(live_server, category, district):
    civicbot = pytest.importorskip("civicbot", reason="dev dependency civicbot (a GeoReport v2 client) not installed")
    from civicbot.http import RateLimiter

    key = apikey_issue(name="市民App", role="system").key
    endpoint = civicbot.Endpoint(id="cityops", name="CityOps", base_url=f"{live_server.url}/open311/v2", write=True)
    client = civicbot.Open311Client(endpoint, transport=civicbot.HttpTransport(rate_limiter=RateLimiter(min_interval=0)))

    services = client.list_services()
    assert [s["service_code"] for s in services] == [category.code]
    definition = client.get_service_definition(category.code)
    assert definition["service_code"] == category.code

    sent = client.create_request(
        category.code, dry_run=False, confirm="SEND", api_key=key, validate_remote=True,
        lat=INSIDE["lat"], lng=INSIDE["lon"], description="路灯不亮，已经三天了", first_name="三", last_name="张",
        phone="13812341234", attributes={"case_type": "help"},
    )
    number = sent.response[0]["service_request_id"]
    assert Case.objects.get(number=number).case_type == "help"
    register(number)

    read = client.get_request(number)
    assert read["service_request_id"] == number and read["status"] == "open"
    assert read["description"] == "路灯不亮，已经三天了" and read["service_code"] == category.code
    assert "13812341234" not in str(read) and "张" not in str(read)
    listed = client.list_requests(service_request_ids=[number])
    assert [r["service_request_id"] for r in listed] == [number]

    with pytest.raises(civicbot.HttpError) as refused:
        client.create_request(category.code, dry_run=False, confirm="SEND", api_key="cok_000000000000_wrong",
                              lat=INSIDE["lat"], lng=INSIDE["lon"], description="无效密钥")
    assert refused.value.status == 403
    check_json("errors", refused.value.body)


def test_xml_round_trip_over_http(live_server, category, district):
    key = apikey_issue(name="市民App", role="system").key
    base = f"{live_server.url}/open311/v2"

    def get(path: str) -> bytes:
        with urllib.request.urlopen(f"{base}/{path}", timeout=10) as response:
            assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
            return response.read()

    assert [s["service_code"] for s in check_xml("services", get("services.xml"))] == [category.code]
    form = urllib.parse.urlencode({"api_key": key, "service_code": category.code, "lat": INSIDE["lat"],
                                   "long": INSIDE["lon"], "description": "井盖缺失"}).encode()
    with urllib.request.urlopen(urllib.request.Request(f"{base}/requests.xml", data=form), timeout=10) as response:
        number = check_xml("service_requests", response.read())[0]["service_request_id"]
    register(number)
    back = check_xml("service_requests", get(f"requests/{number}.xml"))
    assert back[0]["service_request_id"] == number and back[0]["description"] == "井盖缺失"
    with pytest.raises(urllib.error.HTTPError) as missing:
        get("requests/CD19990101-0001.xml")
    assert missing.value.code == 404
    check_xml("errors", missing.value.read())
