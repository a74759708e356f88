"""Benchmark the memory (RSS, and PSS: shared pages split between the processes sharing them)
of a gunicorn web worker and a Celery worker, at rest and under load.

Web: gunicorn in production mode on the seeded database; at rest after every worker has
served a few requests (geo index built, caches warm), then the maximum during 20 s of
concurrent case creation and case-list requests. Celery: one worker (prefork, 1 child) on a
private queue; at rest after start, then the maximum while it runs the SLA scan, the
escalation and the other periodic jobs back to back on the same database.

    .venv/bin/python benchmarks/memory.py [--seconds 20] [--database-url URL] [--json]

With --json the last line of output is one JSON object (MB).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT), str(ROOT / "benchmarks")]

from cityops.ops import benchtools  # noqa: E402


def pss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Sampler(threading.Thread):
    """Maximum RSS and PSS of some processes, sampled every 0.25 s."""

    def __init__(self, pids_of) -> None:
        super().__init__(daemon=True)
        self.pids_of = pids_of
        self.max_rss = 0.0
        self.max_pss = 0.0
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            for pid in self.pids_of():
                self.max_rss = max(self.max_rss, benchtools.rss_mb(pid))
                self.max_pss = max(self.max_pss, pss_mb(pid))
            time.sleep(0.25)

    def stop(self) -> None:
        self.stop_event.set()
        self.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--database-url", default=benchtools.DEFAULT_BENCH_URL)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    queue = f"cityops-bench-{os.getpid()}"
    os.environ["CELERY_QUEUE"] = queue
    benchtools.ensure_database(args.database_url)
    benchtools.setup_django(args.database_url)
    import intake  # the intake benchmark's request bodies

    payloads, token = intake.bodies(500)
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"}
    counter = iter(range(10**9))

    def request() -> bytes:
        i = next(counter)
        if i % 4 == 3:
            return benchtools.http_request("GET", "/api/v1/cases?status=in_progress", headers=auth)
        return benchtools.http_request("POST", "/api/v1/cases", payloads[i % len(payloads)], auth)

    figures: dict = {"benchmark": "memory", "date": datetime.now(UTC).date().isoformat(), "machine": benchtools.machine()}
    with benchtools.Server(args.database_url, workers=args.workers, threads=2) as server:
        benchtools.run_load(server.port, request, clients=8, seconds=0.1, warmup=5)
        time.sleep(2)
        rest = [benchtools.rss_mb(p) for p in server.worker_pids]
        rest_pss = [pss_mb(p) for p in server.worker_pids]
        sampler = Sampler(lambda: server.worker_pids)
        sampler.start()
        load = benchtools.run_load(server.port, request, clients=16, seconds=args.seconds, warmup=0.5)
        sampler.stop()
        figures["web"] = {
            "workers": len(rest), "rest_rss_mb": round(max(rest), 1), "rest_pss_mb": round(max(rest_pss), 1),
            "load_rss_mb": round(sampler.max_rss, 1), "load_pss_mb": round(sampler.max_pss, 1),
            "master_rss_mb": round(benchtools.rss_mb(server.proc.pid), 1), "requests_per_s": round(load.per_s, 1),
        }
    print(f"web worker: rest {figures['web']['rest_rss_mb']} MB RSS ({figures['web']['rest_pss_mb']} PSS), "
          f"under load {figures['web']['load_rss_mb']} MB RSS ({figures['web']['load_pss_mb']} PSS)")

    from config.celery import app

    with benchtools.celery_worker(args.database_url, concurrency=1, extra_env={"CELERY_QUEUE": queue}) as worker:
        time.sleep(15)
        pids = [worker.pid, *benchtools.children(worker.pid)]
        rest = {pid: benchtools.rss_mb(pid) for pid in pids}
        sampler = Sampler(lambda: [worker.pid, *benchtools.children(worker.pid)])
        sampler.start()
        deadline = time.monotonic() + args.seconds
        sent = 0
        while time.monotonic() < deadline:
            for name in ("sla_scan", "sla_escalate", "webhooks", "rollups"):
                app.send_task(f"cityops.{name}", queue=queue)
                sent += 1
            time.sleep(1)
        time.sleep(5)
        sampler.stop()
        figures["celery"] = {
            "rest_rss_mb": round(max(rest.values()), 1), "rest_parent_rss_mb": round(rest.get(worker.pid, 0), 1),
            "load_rss_mb": round(sampler.max_rss, 1), "load_pss_mb": round(sampler.max_pss, 1), "tasks_sent": sent,
        }
    print(f"celery worker: rest {figures['celery']['rest_rss_mb']} MB RSS, under load {figures['celery']['load_rss_mb']} MB RSS")
    figures["target_web_rss_mb"] = 250
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
