"""Object scope (等保 2.0 访问控制): a department sees only the cases dispatched to it, an
inspector only his grids' cases (and his own reports), a system account only what it reported
— in every list, detail, search, export and API answer, because the scope is in the query.

Each check also asserts the viewer's own case is there, so an empty answer cannot pass.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.test import Client
from django.urls import reverse

from cityops.api.tokens import token_issue
from cityops.cases.models import CaseEvent
from tests.security.world import World

pytestmark = pytest.mark.django_db

# (viewer, the case it must see, the case it must not see)
PAIRS = [
    ("department", "case_a", "case_b"),
    ("department_b", "case_b", "case_a"),
    ("inspector", "case_a", "case_b"),
    ("inspector_east", "case_b", "case_a"),
    ("system", "case_a", "case_b"),
]


def _viewer(world: World, name: str):
    return world.other.get(name) or world.users[name]


@pytest.fixture(params=PAIRS, ids=[p[0] for p in PAIRS])
def pair(request, world):
    viewer, own, hidden = request.param
    return _viewer(world, viewer), getattr(world, own), getattr(world, hidden)


def _page(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _api(user, path: str, params=None):
    token = token_issue(user=user).token
    return Client().get(f"/api/v1{path}", params or {}, HTTP_AUTHORIZATION=f"Bearer {token}")


def _csv_numbers(content: bytes) -> set[str]:
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    return {cell for row in rows[1:] for cell in row[:1]}


def _link(case) -> str:
    return f'href="{reverse("cases:detail", args=[case.number])}"'


def test_case_list_page_shows_only_cases_in_scope(pair):
    user, own, hidden = pair
    if not user.has_role("department", "inspector"):
        pytest.skip("the case list page is for case roles; a system account has none")
    html = _page(user).get(reverse("cases:list")).content.decode()
    assert _link(own) in html
    assert _link(hidden) not in html and hidden.number not in html


def test_search_for_an_out_of_scope_number_finds_nothing(pair):
    user, own, hidden = pair
    if not user.has_role("department", "inspector"):
        pytest.skip("the case list page is for case roles")
    client = _page(user)
    assert _link(hidden) not in client.get(reverse("cases:list"), {"q": hidden.number}).content.decode()
    assert _link(own) in client.get(reverse("cases:list"), {"q": own.number}).content.decode()


def test_detail_and_attachment_of_an_out_of_scope_case_are_not_found(pair, world):
    user, own, hidden = pair
    client = _page(user)
    assert client.get(reverse("cases:detail", args=[own.number])).status_code == 200
    assert client.get(reverse("cases:detail", args=[hidden.number])).status_code == 404
    attachment = world.attachment_a
    url = reverse("cases:attachment", args=[attachment.case.number, attachment.pk])
    assert client.get(url).status_code == (200 if attachment.case_id == own.pk else 404)


def test_an_action_on_an_out_of_scope_case_is_not_found_and_writes_nothing(pair):
    user, _own, hidden = pair
    before = CaseEvent.objects.filter(case=hidden).count()
    response = _page(user).post(reverse("cases:action", args=[hidden.number, "sign"]), {"version": hidden.version})
    assert response.status_code == 404
    assert CaseEvent.objects.filter(case=hidden).count() == before


def test_csv_export_holds_only_cases_in_scope(pair):
    user, own, hidden = pair
    response = _page(user).get(reverse("intake:case_export", args=["csv"]))
    assert response.status_code == 200
    numbers = _csv_numbers(b"".join(response.streaming_content))
    assert own.number in numbers
    assert hidden.number not in numbers


def test_api_list_search_detail_and_events_hold_only_cases_in_scope(pair):
    user, own, hidden = pair
    listed = {c["number"] for c in _api(user, "/cases", {"page_size": 100}).json()["results"]}
    assert own.number in listed and hidden.number not in listed
    assert _api(user, "/cases", {"q": hidden.number}).json()["results"] == []
    assert _api(user, f"/cases/{own.number}").status_code == 200
    assert _api(user, f"/cases/{hidden.number}").status_code == 404
    assert _api(user, f"/cases/{hidden.number}/events").status_code == 404


def test_api_export_holds_only_cases_in_scope(pair):
    user, own, hidden = pair
    response = _api(user, "/exports/cases", {"format": "geojson"})
    assert response.status_code == 200
    numbers = {f["properties"].get("number") for f in json.loads(b"".join(response.streaming_content))["features"]}
    assert own.number in numbers and hidden.number not in numbers


def test_a_department_desk_lists_only_its_own_cases(world):
    for user, own, hidden in ((world.users["department"], world.case_a, world.case_b),
                              (world.other["department_b"], world.case_b, world.case_a)):
        client = _page(user)
        for tab in ("sign", "all"):
            html = client.get(reverse("cases:desk_department"), {"tab": tab}).content.decode()
            assert own.number in html and hidden.number not in html, tab


def test_an_inspector_verifies_only_in_his_grids(world):
    west, east = world.users["inspector"], world.other["inspector_east"]
    task = reverse("intake:inspector_task", args=[world.case_responded.number])
    assert world.case_responded.number in _page(west).get(reverse("intake:inspector_tasks")).content.decode()
    assert world.case_responded.number not in _page(east).get(reverse("intake:inspector_tasks")).content.decode()
    response = _page(east).post(task, {"passed": "true", "note": "越权核查", "version": world.case_responded.version})
    assert response.status_code == 302 and response["Location"] == reverse("intake:inspector_tasks")
    assert not CaseEvent.objects.filter(case=world.case_responded, action="verify").exists()


@pytest.mark.parametrize("path", ["/stats/dashboard", "/stats/map/points", "/stats/map", "/stats/bigscreen"])
def test_district_figures_and_map_points_are_refused_to_scoped_roles(world, path):
    for user in (world.users["department"], world.users["inspector"], world.users["system"]):
        assert _api(user, path).status_code == 403
    for name in ("analytics:dashboard", "analytics:bigscreen"):
        assert _page(world.users["department"]).get(reverse(name)).status_code == 403


def test_a_notification_of_someone_else_is_not_found(world):
    other = world.notifications["operator"]
    assert _page(world.users["department"]).get(reverse("cases:notification_open", args=[other])).status_code == 404
