"""Anomaly alerts: a category or a street far above its usual level.

Baseline: the same weekday in each of the previous `weeks` weeks (weekly rhythm matters:
Mondays are busier than Sundays). Expected count = the baseline mean, scaled to the part of
the day already gone when the day is today. An alert needs all of

* observed ≥ `min_count` (a jump from 0 to 2 is not news),
* z = (observed − expected) / √max(expected, 1) ≥ `z_min` (Poisson-scaled excess),
* observed ≥ `ratio_min` × expected,

and at least `min_weeks` baseline days on which the district had any case at all.
The Poisson tail probability P(X ≥ observed | expected) is shown with the baseline.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone

from cityops.analytics.links import CaseLink
from cityops.analytics.models import ALL_STREETS, DailyCount, Dim
from cityops.analytics.refs import refs

WEEKS = 8
MIN_WEEKS = 4
MIN_COUNT = 5
Z_MIN = 3.0
RATIO_MIN = 1.5
WEEKDAYS = "一二三四五六日"


def poisson_sf(observed: int, mean: float) -> float:
    """P(X ≥ observed) for X ~ Poisson(mean)."""
    if observed <= 0:
        return 1.0
    mean = max(mean, 1e-9)
    total = 0.0
    log_mean = math.log(mean)
    for k in range(observed):
        total += math.exp(k * log_mean - mean - math.lgamma(k + 1))
    return max(0.0, 1.0 - total)


def day_fraction(now: datetime) -> float:
    local = timezone.localtime(now)
    seconds = local.hour * 3600 + local.minute * 60 + local.second
    return max(0.1, seconds / 86400)


def anomalies(
    *, day: date | None = None, now: datetime | None = None, weeks: int = WEEKS, min_weeks: int = MIN_WEEKS,
    min_count: int = MIN_COUNT, z_min: float = Z_MIN, ratio_min: float = RATIO_MIN, limit: int = 10,
) -> dict[str, Any]:
    """Categories and streets far above their same-weekday baseline on `day` (default today, so far)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    day = day or today
    fraction = day_fraction(now) if day == today else 1.0
    base_days = [day - timedelta(days=7 * k) for k in range(1, weeks + 1)]
    all_days = [day, *base_days]
    cat_rows = DailyCount.objects.filter(dim=Dim.CATEGORY, day__in=all_days, street_id=ALL_STREETS).values("day", "key", "n")
    street_rows = DailyCount.objects.filter(dim=Dim.TOTAL, day__in=all_days, street_id__gte=0).values("day", "street_id", "n")
    per: dict[tuple[str, str], Counter] = defaultdict(Counter)
    district: Counter = Counter()
    for row in cat_rows:
        per[("category", row["key"])][row["day"]] += row["n"]
    for row in street_rows:
        per[("street", str(row["street_id"]))][row["day"]] += row["n"]
        district[row["day"]] += row["n"]
    usable = [d for d in base_days if district.get(d, 0) > 0]
    result: dict[str, Any] = {
        "day": day.isoformat(), "weekday": f"星期{WEEKDAYS[day.weekday()]}", "partial_day": day == today,
        "fraction": round(fraction, 2), "baseline_days": [d.isoformat() for d in usable], "alerts": [],
        "rules": {"min_count": min_count, "z_min": z_min, "ratio_min": ratio_min, "weeks": weeks, "min_weeks": min_weeks},
    }
    if day > today:
        result["message"] = "所选日期尚未到来。"
        return result
    if len(usable) < min_weeks:
        result["message"] = f"基线不足：需要至少 {min_weeks} 个此前同一星期几的数据日，目前只有 {len(usable)} 个。"
        return result
    r = refs()
    alerts = []
    for (kind, key), by_day in per.items():
        observed = by_day.get(day, 0)
        if observed < min_count:
            continue
        baseline = [by_day.get(d, 0) for d in usable]
        mean = sum(baseline) / len(baseline)
        expected = mean * fraction
        z = (observed - expected) / math.sqrt(max(expected, 1.0))
        if z < z_min or observed < ratio_min * expected:
            continue
        name, href = _describe(r, kind, key, day)
        if name is None:
            continue
        alerts.append({
            "kind": kind, "kind_label": "分类" if kind == "category" else "街道", "key": key, "name": name,
            "observed": observed, "expected": round(expected, 1), "baseline_mean": round(mean, 1),
            "baseline": baseline, "baseline_max": max(baseline), "z": round(z, 1),
            "ratio": round(observed / expected, 1) if expected > 0 else None,
            "p_value": float(f"{poisson_sf(observed, max(expected, 0.5)):.2g}"), "link": href,
        })
    alerts.sort(key=lambda a: (-a["z"], -a["observed"]))
    result["alerts"] = alerts[:limit]
    if not alerts:
        result["message"] = "没有明显高于常态的分类或街道。"
    return result


def _describe(r, kind: str, key: str, day: date) -> tuple[str | None, str]:
    if kind == "street":
        area = r.streets.get(int(key)) if key.isdigit() else None
        if area is None:
            return None, ""
        return area.name, CaseLink(day, day).href(street=area.code)
    cat = r.categories.get(int(key)) if key.isdigit() else None
    if cat is None:
        return None, ""
    return cat.name, CaseLink(day, day).href(category_path=cat.path)
