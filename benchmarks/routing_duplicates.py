"""Benchmark duplicate-candidate search (cityops.routing.duplicates.candidates) with N open cases.

Builds a throw-away SQLite database (all migrations), inserts N open cases spread over the
城东区 bounding box within the last 7 days (texts from ../shared/data/complaints when present,
synthetic otherwise), indexes them, then times single searches at the location of random
existing cases with their own text (the worst case: a dense neighbourhood with a true
duplicate). Also times the plain bounding-box query on the case table (no index on lat/lon)
for comparison.

    .venv/bin/python benchmarks/routing_duplicates.py [--cases 100000] [--queries 500] [--json]

With --json the last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
BBOX = (101.776, 36.525, 101.914, 36.654)


def _texts(n: int, rng: random.Random) -> list[str]:
    from cityops.testing.shared_data import shared_path

    data = shared_path("complaints", "messages_with_votes.csv")
    if data.is_file():
        with data.open(encoding="utf-8") as handle:
            pool = [f"{r['subject']} {r['detail']}"[:300] for r in csv.DictReader(handle)]
    else:
        words = ["小区", "物业", "停车", "道路", "施工", "噪音", "垃圾", "井盖", "路灯", "电梯", "学校", "收费", "工资", "拖欠", "污水", "油烟", "占道", "违建"]
        pool = ["".join(rng.choices(words, k=12)) for _ in range(5000)]
    return [pool[i % len(pool)] for i in range(n)]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="cityops-dup-bench-")
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp.name}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from cityops.cases.models import Case
    from cityops.cases.states import OPEN_STATUSES, Status
    from cityops.routing import duplicates

    rng = random.Random(args.seed)
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrate_s = time.perf_counter() - started

    now = timezone.now()
    texts = _texts(args.cases, rng)
    rng.shuffle(texts)
    started = time.perf_counter()
    batch = []
    for i in range(args.cases):
        batch.append(Case(
            number=f"CD-BENCH-{i:07d}", tracking_code=f"T{i:010d}", channel="hotline", description=texts[i],
            lon=rng.uniform(BBOX[0], BBOX[2]), lat=rng.uniform(BBOX[1], BBOX[3]),
            status=rng.choice([Status.NEW, Status.REGISTERED, Status.DISPATCHED, Status.IN_PROGRESS]),
            created_at=now - timedelta(seconds=rng.uniform(0, 6.5 * 86400)),
        ))
        if len(batch) == 5000:
            Case.objects.bulk_create(batch)
            batch = []
    Case.objects.bulk_create(batch)
    insert_s = time.perf_counter() - started
    started = time.perf_counter()
    indexed = duplicates.reindex()
    index_s = time.perf_counter() - started

    probes = list(Case.objects.order_by("?").values_list("pk", "lon", "lat", "description")[: args.queries])
    for pk, lon, lat, text in probes[:20]:  # warm up
        duplicates.candidates(lon=lon, lat=lat, text=text, exclude_pk=pk, now=now)
    timings, found = [], []
    for pk, lon, lat, text in probes:
        t0 = time.perf_counter()
        result = duplicates.candidates(lon=lon, lat=lat, text=text, exclude_pk=pk, now=now)
        timings.append((time.perf_counter() - t0) * 1000)
        found.append(len(result))

    # The same neighbourhood read straight from the case table (bounding box, no lat/lon index).
    import math

    plain = []
    for pk, lon, lat, _text in probes[:100]:
        dlat = 300 / 111_320
        dlon = 300 / (111_320 * math.cos(math.radians(lat)))
        t0 = time.perf_counter()
        list(Case.objects.filter(
            status__in=OPEN_STATUSES, created_at__gte=now - timedelta(days=7), master__isnull=True,
            lon__range=(lon - dlon, lon + dlon), lat__range=(lat - dlat, lat + dlat),
        ).exclude(pk=pk).values_list("pk", "description")[:500])
        plain.append((time.perf_counter() - t0) * 1000)

    result = {
        "cases": args.cases, "indexed": indexed, "queries": len(timings),
        "p50_ms": round(_pct(timings, 0.5), 2), "p99_ms": round(_pct(timings, 0.99), 2), "max_ms": round(max(timings), 2),
        "mean_candidates": round(sum(found) / len(found), 2),
        "case_table_bbox_p50_ms": round(_pct(plain, 0.5), 2), "case_table_bbox_p99_ms": round(_pct(plain, 0.99), 2),
        "setup": {"migrate_s": round(migrate_s, 1), "insert_s": round(insert_s, 1), "reindex_s": round(index_s, 1)},
        "database": "sqlite", "cpus": os.cpu_count(),
    }
    if not args.json:
        print(f"{args.cases} 件在办案件：重复件检索 p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, "
              f"平均候选 {result['mean_candidates']} 件；直接查案件表（无经纬度索引）p50 {result['case_table_bbox_p50_ms']} ms")
    print(json.dumps(result, ensure_ascii=False))
    tmp.cleanup()


if __name__ == "__main__":
    main()
