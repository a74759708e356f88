"""Benchmark point → grid lookups (cityops.geo.lookup.locate).

By default builds the synthetic demo partition in a fresh, throw-away SQLite database
(only the geo tables), then times single-point lookups at random points of the
district's bounding box (some fall outside and raise OutsideDistrictError, as real
input does). `--dev-db` uses the configured database as it is instead.

    .venv/bin/python benchmarks/geo_lookup.py [--points 20000] [--gcj02] [--dev-db] [--json]

With --json the last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=20000)
    parser.add_argument("--gcj02", action="store_true", help="feed GCJ-02 coordinates (adds the conversion)")
    parser.add_argument("--dev-db", action="store_true", help="use the configured database, do not build one")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    tmp = None
    if not args.dev_db:
        tmp = tempfile.TemporaryDirectory(prefix="cityops-geo-bench-")
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp.name}/bench.sqlite3"
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    else:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

    import django

    django.setup()
    import numpy as np
    from django.db import connection

    from cityops.geo import lookup, services
    from cityops.geo.coords import wgs84_to_gcj02
    from cityops.geo.models import Region, UnitGrid

    setup: dict[str, float | int] = {}
    if not args.dev_db:
        with connection.schema_editor() as editor:
            editor.create_model(Region)
            editor.create_model(UnitGrid)
        result = services.generate_demo_partition()
        setup = {"demo_partition_s": round(result.seconds, 2), "grids": result.grids}

    started = time.perf_counter()
    index = lookup.get_index()
    setup["index_build_ms"] = round((time.perf_counter() - started) * 1000, 1)
    setup["grids_indexed"] = len(index.grids.keys) if index.grids else 0
    minx, miny, maxx, maxy = (
        index.district.bounds if index.district is not None else (101.77, 36.52, 101.92, 36.66)
    )

    rng = np.random.default_rng(args.seed)
    pts = rng.uniform((minx, miny), (maxx, maxy), size=(args.points, 2)).tolist()
    system = "wgs84"
    if args.gcj02:
        pts = [wgs84_to_gcj02(x, y) for x, y in pts]
        system = "gcj02"

    for x, y in pts[:200]:  # warm-up
        with contextlib.suppress(lookup.OutsideDistrictError):
            lookup.locate(x, y, system)

    timings = []
    inside = 0
    clock = time.perf_counter_ns
    total_start = clock()
    for x, y in pts:
        t0 = clock()
        try:
            lookup.locate(x, y, system)
            inside += 1
        except lookup.OutsideDistrictError:
            pass
        timings.append(clock() - t0)
    total_s = (clock() - total_start) / 1e9
    timings.sort()
    us = [t / 1000 for t in timings]
    report = {
        "benchmark": "geo_lookup",
        "coord_system": system,
        "points": len(pts),
        "inside": inside,
        "lookups_per_s": round(len(pts) / total_s),
        "p50_us": round(statistics.median(us), 1),
        "p99_us": round(us[int(0.99 * (len(us) - 1))], 1),
        "max_us": round(us[-1], 1),
        **setup,
    }
    if not args.json:
        for key, value in report.items():
            print(f"{key:>16}: {value}")
    else:
        print(json.dumps(report))
    if tmp is not None:
        connection.close()
        tmp.cleanup()


if __name__ == "__main__":
    main()
