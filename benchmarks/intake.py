"""Benchmark case intake through the real HTTP API: POST /api/v1/cases on gunicorn + PostgreSQL.

Each request is a full intake: bearer-token authentication, validation, point → grid lookup,
SLA deadline on the working calendar, case number, the case row, its `create` event and its
outbox row in one transaction, and the case serialised back. The derived work of each event
(rollups, duplicate index, webhook rows, auto-dispatch — whatever the installed apps attach to
`case_events_committed`) runs as production runs it, in batches in a `cityops fanout --follow`
process beside the server; its CPU is counted into the cost of a create, and the run waits for
it to catch up before it stops measuring. In the same run, against
the same server, the benchmark-only endpoint POST /ops/bench/insert (one INSERT, nothing else;
enabled by CITYOPS_BENCHMARK_ENDPOINTS) gives the ceiling of the stack, and the ratio.

    .venv/bin/python benchmarks/intake.py [--clients 16] [--seconds 30] [--workers 4] [--threads 2]
        [--worker-class gthread|sync] [--database-url URL] [--json]

The load client (asyncio, keep-alive connections, 127.0.0.1 only) runs on the same machine and
takes CPU from the server; its share is part of what the figures measure. With --json the last
line of output is one JSON object with creates_per_s, p50_ms, p99_ms and ceiling_per_s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from cityops.ops import benchtools  # noqa: E402


def bodies(count: int, seed: int = 7) -> tuple[list[bytes], str]:
    """Request bodies (real grid points and leaf categories) and an operator's bearer token."""
    from shapely.geometry import shape

    from cityops.accounts.models import User
    from cityops.api.tokens import token_issue
    from cityops.catalog.models import Category
    from cityops.geo.models import UnitGrid

    rng = random.Random(seed)
    grids = list(UnitGrid.objects.order_by("?").values_list("boundary", flat=True)[:400])
    points = []
    for boundary in grids:
        p = shape(boundary).representative_point()
        points.append((round(p.x, 7), round(p.y, 7)))
    categories = list(Category.objects.filter(active=True, children__isnull=True).values_list("code", flat=True))
    texts = ["小区门口垃圾堆放两天无人清运", "路灯不亮，晚上行人看不清路", "人行道井盖破损，存在安全隐患",
             "工地夜间施工噪音扰民", "下水道堵塞污水外溢", "占道经营影响通行"]
    out = []
    for i in range(count):
        lon, lat = rng.choice(points)
        body = {
            "type": "complaint", "description": f"{rng.choice(texts)}（压测 {i}）", "lon": lon, "lat": lat,
            "address": "东关大街", "category": rng.choice(categories),
            "reporter_name": "张三", "reporter_phone": f"139{rng.randrange(10**8):08d}",
        }
        out.append(json.dumps(body, ensure_ascii=False).encode())
    operator = User.objects.get(username="operator")
    return out, token_issue(user=operator, name="intake-benchmark").token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16, help="concurrent connections")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--worker-class", default="gthread")
    parser.add_argument("--database-url", default=benchtools.DEFAULT_BENCH_URL)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    benchtools.ensure_database(args.database_url)
    benchtools.setup_django(args.database_url)
    from cityops.cases.fanout import pending_count
    from cityops.cases.models import Case

    payloads, token = bodies(2000)
    before = Case.objects.count()
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"}
    counter = iter(range(10**9))

    def create() -> bytes:
        return benchtools.http_request("POST", "/api/v1/cases", payloads[next(counter) % len(payloads)], auth)

    ceiling_request = benchtools.http_request("POST", "/ops/bench/insert", b"", {"Content-Type": "application/json"})

    server = benchtools.Server(args.database_url, workers=args.workers, threads=args.threads, worker_class=args.worker_class)
    with server, benchtools.fanout_follower(args.database_url) as follower:
        # Every worker builds its geo index and warms its caches before anything is recorded.
        benchtools.run_load(server.port, create, clients=args.clients, seconds=0.1, warmup=args.warmup)
        meter = benchtools.CpuMeter(args.database_url, lambda: server.worker_pids, fanout=lambda: [follower.pid])
        meter.start()
        ceiling = benchtools.run_load(server.port, lambda: ceiling_request, clients=args.clients, seconds=args.seconds, warmup=1)
        ceiling_cpu = meter.stop()
        print(f"ceiling (one INSERT): {ceiling.per_s:,.0f}/s  p50 {ceiling.summary()['p50_ms']} ms  p99 {ceiling.summary()['p99_ms']} ms")
        meter.start()
        creates = benchtools.run_load(server.port, create, clients=args.clients, seconds=args.seconds, warmup=1)
        backlog = pending_count()
        # The derived work (rollups, duplicate index, webhooks) belongs to the cost of a create:
        # wait for the follower to catch up and count its CPU in.
        drain_started = time.monotonic()
        while pending_count() and time.monotonic() - drain_started < 300:
            time.sleep(0.1)
        drain_s = time.monotonic() - drain_started
        creates_cpu = meter.stop()
        s = creates.summary()
        print(f"case creation:        {creates.per_s:,.0f}/s  p50 {s['p50_ms']} ms  p99 {s['p99_ms']} ms  statuses {s['statuses']} errors {s['errors']}")
        print(f"derived work: {backlog:,} events pending when the load stopped, drained in {drain_s:.1f} s")
        rss = {pid: round(benchtools.rss_mb(pid), 1) for pid in server.worker_pids}
    created = Case.objects.count() - before
    ratio = creates.per_s / ceiling.per_s if ceiling.per_s else 0.0

    def per_request_ms(cpu: dict, result) -> dict:
        # The whole run (warm-up second included) over the requests answered in it.
        n = max(1, sum(result.statuses.values()) * (result.seconds + 1) / result.seconds)
        return {k: round(v * 1000 / n, 2) for k, v in cpu.items()}

    creates_ms = per_request_ms(creates_cpu, creates)
    ceiling_ms = per_request_ms(ceiling_cpu, ceiling)
    cores = os.cpu_count() or 1
    # What 2 dedicated cores could do: server-side CPU (web + PostgreSQL) per request.
    projected = {"creates_per_s": round(cores * 1000 / (creates_ms["web"] + creates_ms["db"] + creates_ms["fanout"])),
                 "ceiling_per_s": round(cores * 1000 / (ceiling_ms["web"] + ceiling_ms["db"]))}
    print(f"CPU per create: web {creates_ms['web']} ms + PostgreSQL {creates_ms['db']} ms + fan-out {creates_ms['fanout']} ms "
          f"(client {creates_ms['client']} ms); "
          f"per ceiling insert: web {ceiling_ms['web']} ms + PostgreSQL {ceiling_ms['db']} ms")
    print(f"on {cores} dedicated cores that is about {projected['creates_per_s']:,} creates/s and {projected['ceiling_per_s']:,} inserts/s")
    print(f"ratio creates/ceiling: {ratio:.0%}   cases written: {created:,}   worker RSS MB: {sorted(rss.values())}")
    figures = {
        "benchmark": "intake", "date": datetime.now(UTC).date().isoformat(), "machine": benchtools.machine(),
        "creates_per_s": round(creates.per_s, 1), "p50_ms": s["p50_ms"], "p95_ms": s["p95_ms"], "p99_ms": s["p99_ms"],
        "ceiling_per_s": round(ceiling.per_s, 1), "ceiling_p50_ms": ceiling.summary()["p50_ms"],
        "ceiling_p99_ms": ceiling.summary()["p99_ms"], "ratio": round(ratio, 3),
        "statuses": s["statuses"], "errors": s["errors"], "cases_in_table": Case.objects.count(),
        "clients": args.clients, "seconds": args.seconds, "workers": args.workers, "threads": args.threads,
        "worker_class": args.worker_class, "worker_rss_mb": sorted(rss.values()),
        "fanout_backlog_at_stop": backlog, "fanout_drain_s": round(drain_s, 1),
        "cpu_ms_per_create": creates_ms, "cpu_ms_per_ceiling_insert": ceiling_ms, "projected_on_dedicated_cores": projected,
        "targets": {"creates_per_s": 500, "p99_ms": 100, "ratio": 0.4},
    }
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
