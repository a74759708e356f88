"""Hot issues (clusters of similar cases) and anomaly alerts (far above the usual level)."""

from __future__ import annotations

import csv
from datetime import timedelta

import pytest
from django.utils import timezone

from cityops.analytics.anomalies import anomalies, poisson_sf
from cityops.analytics.hotissues import (
    SPACE_BONUS,
    Doc,
    _similarity,
    cluster_docs,
    doc_text,
    hot_issues_latest,
    hot_issues_refresh,
    rank,
    vectorize,
)
from cityops.analytics.models import Dim, HotIssueRun
from cityops.analytics.rollups import bump
from cityops.analytics.tests.support import EAST, HEATING, WEST, report
from cityops.testing.shared_data import require_shared

OTHER = ["路口红绿灯坏了，车辆乱行", "公园里的健身器材损坏", "菜市场门口占道经营严重", "楼道里堆满杂物有安全隐患",
         "小区门口井盖缺失", "夜间施工噪音扰民"]


def doc(i, text, *, current=True, reporter="", place="", lonlat=None):
    return Doc(key=i, text=text, reporter=reporter or f"r{i}", current=current, place=place,
               lon=lonlat[0] if lonlat else None, lat=lonlat[1] if lonlat else None)


def test_similar_reports_cluster_and_rank_by_people_and_growth():
    docs = [doc(i, t) for i, t in enumerate(HEATING)] + [doc(10 + i, t) for i, t in enumerate(OTHER)]
    docs += [doc(20, HEATING[0], current=False)]  # one last week: growth 4 − 1 = 3
    hot = rank(cluster_docs(docs))
    assert len(hot) == 1
    top = hot[0]
    assert {d.key for d in top.current} == {0, 1, 2, 3}
    assert top.size == 4 and top.growth == 3 and top.reporters == 4 and top.score == 7
    assert top.medoid.key in {0, 1, 2, 3}


def test_one_person_repeating_counts_as_one_reporter():
    docs = [doc(i, t, reporter="same") for i, t in enumerate(HEATING)] + [doc(9, OTHER[0])]
    top = rank(cluster_docs(docs))[0]
    assert top.size == 4 and top.reporters == 1


def test_nearby_reports_get_a_similarity_bonus():
    texts = ["井盖松动了", "这里的井盖缺了一块", "井盖破损很危险", "路灯不亮"]
    near = [doc(i, t, place="c1", lonlat=(101.80, 36.60)) for i, t in enumerate(texts)]
    far = [doc(i, t, place=f"c{i}", lonlat=(101.80 + 0.05 * i, 36.60)) for i, t in enumerate(texts)]
    X = vectorize(texts)
    S_near, S_far = _similarity(near, X), _similarity(far, X)
    assert S_near[0, 1] == pytest.approx(min(1.0, S_far[0, 1] + SPACE_BONUS))
    assert S_near[0, 3] == S_far[0, 3]  # unrelated texts get no bonus for being close


def test_product_refresh_on_cases(db, district, committed):
    with committed():
        for i, text in enumerate(HEATING):
            report(text=text, phone=f"1390000000{i}", lonlat=WEST)
        for i, text in enumerate(OTHER[:3]):
            report(text=text, phone=f"1391000000{i}", lonlat=EAST)
    run = hot_issues_refresh()
    assert run.case_count == 7 and len(run.clusters) == 1
    issue = run.clusters[0]
    assert issue["size"] == 4 and issue["hot_spot"] and issue["place"]["community"] == "第1社区"
    assert issue["representative_link"].startswith("/cases/") and len(issue["cases"]) == 4
    assert "暖气" in issue["keywords"]
    latest = hot_issues_latest()
    assert latest["clusters"][0]["size"] == 4 and not latest["stale"]


def test_stale_run_is_recomputed_when_small(db, district, committed):
    old = timezone.now() - timedelta(hours=2)
    HotIssueRun.objects.create(computed_at=old, window_start=old - timedelta(days=7), window_end=old, clusters=[])
    with committed():
        for i, text in enumerate(HEATING):
            report(text=text, phone=f"1392000000{i}")
    assert hot_issues_latest()["clusters"][0]["size"] == 4


def test_poisson_tail():
    assert poisson_sf(0, 3.0) == 1.0
    assert poisson_sf(1, 2.0) == pytest.approx(1 - 0.1353, abs=1e-3)
    assert poisson_sf(20, 5.0) < 1e-5


def _seed(day, street_id, n, category_key="7"):
    bump([(day, street_id, Dim.TOTAL, "", n), (day, street_id, Dim.CATEGORY, category_key, n)])


def test_anomaly_alert_shows_its_baseline(db, district, category):
    street = district["street1"].pk
    day = timezone.localdate() - timedelta(days=1)
    for week in range(1, 9):
        _seed(day - timedelta(days=7 * week), street, 4 + week % 2, str(category.pk))
    _seed(day, street, 30, str(category.pk))
    result = anomalies(day=day)
    kinds = {(a["kind"], a["name"]) for a in result["alerts"]}
    assert ("category", "暴露垃圾") in kinds and ("street", "第1街道") in kinds
    alert = result["alerts"][0]
    assert alert["observed"] == 30 and alert["baseline_mean"] == 4.5 and len(alert["baseline"]) == 8
    assert alert["z"] > 3 and alert["p_value"] < 1e-6 and "created_from" in alert["link"]


def test_no_alert_for_usual_levels_or_without_baseline(db, district, category):
    street = district["street1"].pk
    day = timezone.localdate() - timedelta(days=1)
    for week in range(1, 9):
        _seed(day - timedelta(days=7 * week), street, 10, str(category.pk))
    _seed(day, street, 12, str(category.pk))
    assert anomalies(day=day)["alerts"] == []
    assert "基线不足" in anomalies(day=day - timedelta(days=40))["message"]
    assert "尚未到来" in anomalies(day=timezone.localdate() + timedelta(days=3))["message"]


def test_hot_issue_ranking_on_real_messages_with_support_counts():
    """A small run of benchmarks/dashboard_hotissues.py (full figures: docs/benchmarks/dashboard.md):
    on the first 1,400 messages the top-20 clusters hold more support (log 1 + likes) than the
    same number of messages would on average."""
    VOTES = require_shared("complaints", "messages_with_votes.csv")
    import math

    with VOTES.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))[:1400]
    docs = [Doc(key=i, text=doc_text(r["subject"], r["detail"]), reporter=r["user"]) for i, r in enumerate(rows)]
    hot = rank(cluster_docs(docs, max_block=len(docs)), min_size=2)
    assert len(hot) >= 20
    support = [math.log1p(int(r["likes"] or 0)) for r in rows]
    in_top = {d.key for c in hot[:20] for d in c.members}
    share = sum(support[i] for i in in_top) / sum(support)
    assert share > 1.2 * len(in_top) / len(rows)
