"""API keys work on every /api/v1/stats/* endpoint, as their service account's role allows."""

from __future__ import annotations

import pytest

from cityops.api.tests.keyclient import KeyClient

pytestmark = pytest.mark.django_db

STATS = ["/stats/dashboard", "/stats/map", "/stats/map/points", "/stats/map/layers/street", "/stats/bigscreen",
         "/stats/hot-issues", "/stats/anomalies", "/stats/targets"]
ASSESSMENT = ["/stats/assessment/indicators", "/stats/assessment/ranking", "/stats/assessment/targets"]


@pytest.mark.parametrize("path", STATS + ASSESSMENT)
def test_a_leaders_key_reads_every_stats_endpoint(district, path):
    key = KeyClient.issue("领导驾驶舱", role="leader")
    response = key.get(path)
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("path", STATS + ASSESSMENT)
def test_a_key_whose_role_may_not_read_stats_gets_403_not_401(district, path):
    key = KeyClient.issue("视频平台", role="system")
    response = key.get(path)
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "forbidden"


def test_a_revoked_key_on_stats_is_a_401(district):
    from cityops.api.keys import apikey_revoke

    key = KeyClient.issue("领导驾驶舱", role="leader")
    apikey_revoke(record=key.record)
    response = key.get("/stats/dashboard")
    assert response.status_code == 401 and response.json()["code"] == "unauthorized"
