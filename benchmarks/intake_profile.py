"""Where one case creation spends its CPU: POST /api/v1/cases in-process (Django test client,
production settings, PostgreSQL), no HTTP server and no load client.

Prints CPU ms per create for the full request and its parts, the SQL statements per create,
and optionally the top functions of a cProfile run. Figures are per request on one core, so
they do not depend on how many cores the machine has (other load still slows them a little).

    .venv/bin/python benchmarks/intake_profile.py [--creates 300] [--database-url URL] [--profile] [--json]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from benchmarks.intake import bodies  # noqa: E402
from cityops.ops import benchtools  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/cityops_intake_profile"


def _calibration() -> float:
    """CPU seconds of a fixed pure-Python loop: compares runs made at different loads."""
    start = time.process_time()
    s = 0
    for i in range(5_000_000):
        s += i
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=300)
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--profile", action="store_true", help="print the top functions by cumulative time")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    benchtools.ensure_database(args.database_url)
    benchtools.setup_django(args.database_url)
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    from cityops.cases.fanout import fan_out_pending

    payloads, token = bodies(args.creates + 20)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")

    def post(body: bytes) -> None:
        response = client.post("/api/v1/cases", body, content_type="application/json")
        assert response.status_code == 201, response.content

    for body in payloads[:20]:  # warm-up: imports, geo index, caches
        post(body)
    work = payloads[20:]

    figures: dict[str, float] = {"calibration_s": round(_calibration(), 3)}
    with CaptureQueriesContext(connection) as queries:
        post(work[0])
    figures["statements_per_create"] = len(queries.captured_queries)

    fan_out_pending()  # the warm-up's events
    start = time.process_time()
    for body in work:
        post(body)
    figures["request_cpu_ms"] = round((time.process_time() - start) * 1000 / len(work), 2)

    # The request alone (production: deferred fan-out), then the batched derived work of the
    # same events, then the request with that work inline (the embedded default) for comparison.
    start = time.process_time()
    figures["fanout_events"] = fan_out_pending()["events"]
    figures["fanout_cpu_ms_per_event"] = round((time.process_time() - start) * 1000 / max(1, figures["fanout_events"]), 2)
    figures["request_plus_fanout_cpu_ms"] = round(figures["request_cpu_ms"] + figures["fanout_cpu_ms_per_event"], 2)
    with override_settings(CITYOPS_EVENT_FANOUT="inline"):
        extra, _ = bodies(len(work), seed=11)
        start = time.process_time()
        for body in extra:
            post(body)
        figures["request_inline_fanout_cpu_ms"] = round((time.process_time() - start) * 1000 / len(extra), 2)

    if args.profile:
        extra, _ = bodies(len(work), seed=13)
        profiler = cProfile.Profile()
        profiler.enable()
        for body in extra:
            post(body)
        profiler.disable()
        pstats.Stats(profiler).sort_stats(os.environ.get("PROFILE_SORT", "cumulative")).print_stats(int(os.environ.get("PROFILE_LINES", "45")))

    for key, value in figures.items():
        print(f"{key:40s} {value}")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
