"""Benchmark bulk import (CSV and XLSX) and streaming export (CSV, XLSX, GeoJSON) of cases.

Uses a scratch database (never the development one): SQLite by default, or any
DATABASE_URL, e.g. a PostgreSQL database made with `createdb -h 127.0.0.1 -U postgres cityops_bench`.
`--setup` migrates it and loads the demo geography and catalogue (`cityops demo --no-accounts`);
it is done automatically when the database has no grids yet.

    .venv/bin/python benchmarks/import_export.py [--rows 100000] [--formats csv,xlsx]
        [--database-url sqlite:////tmp/cityops-bench.sqlite3] [--setup] [--no-export] [--json]

The generated rows look like a month of a busy 12345 feed: every row has a location
inside a random unit grid of the demo district (half of the 咨询/建议/表扬 rows have none),
a random leaf category (10 % unclassified), report times over the last 30 days to the
second, weighted to the day (55 % 08–18 h, 35 % 18–23 h, 10 % at night), 40 % with a
city-platform order number. Each format imports its own file (its own order numbers).

After the imports, every row of the last import is exported again through the real export
path (`case_export`, as a superuser, CSV) and compared with its source row: the round trip.
Then the whole case table is exported in each format, timing it and the peak memory.
With --json the last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

DEFAULT_DB = "sqlite:////tmp/cityops-bench-import.sqlite3"
TYPES = [("投诉", 50), ("求助", 20), ("举报", 10), ("咨询", 10), ("建议", 5), ("表扬", 5)]
CHANNELS = [("市级12345平台", 40), ("热线电话", 40), ("市民网上反映", 10), ("网格员上报", 10)]
TEXTS = [
    "小区东门外垃圾堆放两天没人清运，气味很大，苍蝇很多。", "人行道上落叶和泥土很多，下雨后非常湿滑。",
    "路口有流动摊贩占道经营，早晚高峰堵塞交通。", "机动车长期停放在消防通道上，多次劝离无效。",
    "工地夜间施工到凌晨，噪音严重影响休息。", "下水道堵塞，污水漫到路面上。", "路灯一排都不亮，晚上回家很黑。",
    "上水井盖破损缺失一角，晚上容易绊倒行人。", "商户在门口乱堆纸箱杂物，占用人行道。", "广场舞音响声音太大，晚上十点还没停。",
]
NAMES = ["张伟", "王秀英", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", ""]


def _weighted(rng: random.Random, table: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def _report_time(rng: random.Random, now: datetime) -> datetime:
    day = (now - timedelta(days=rng.randrange(1, 31))).date()
    bucket = rng.random()
    if bucket < 0.55:
        seconds = rng.randrange(8 * 3600, 18 * 3600)
    elif bucket < 0.90:
        seconds = rng.randrange(18 * 3600, 23 * 3600)
    else:
        seconds = rng.randrange(23 * 3600, 32 * 3600) % 86400
    return datetime.combine(day, datetime.min.time()) + timedelta(seconds=seconds)


def generate(n: int, tag: str, seed: int) -> list[dict]:
    """`n` valid rows keyed by the template's headers."""
    from shapely import Point, from_geojson

    from cityops.catalog.models import Category
    from cityops.geo.models import UnitGrid

    rng = random.Random(seed)
    now = datetime.now()  # noqa: DTZ005  (spreadsheet wall-clock times)
    parents = set(Category.objects.exclude(parent=None).values_list("parent_id", flat=True))
    leaves = [code for pk, code in Category.objects.filter(system="urban", active=True).values_list("pk", "code") if pk not in parents]
    grids = [from_geojson(json.dumps(b)) for b in UnitGrid.objects.values_list("boundary", flat=True)]
    rows = []
    for i in range(n):
        case_type = _weighted(rng, TYPES)
        channel = _weighted(rng, CHANNELS)
        located = case_type in ("投诉", "求助", "举报") or rng.random() < 0.5
        lon = lat = None
        if located:
            polygon = grids[rng.randrange(len(grids))]
            minx, miny, maxx, maxy = polygon.bounds
            while True:
                x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
                if polygon.contains(Point(x, y)):
                    lon, lat = round(x, 7), round(y, 7)
                    break
        name = rng.choice(NAMES)
        rows.append({
            "外部编号": f"{tag}-{i:06d}" if channel == "市级12345平台" else "",
            "来源渠道": channel, "工单类型": case_type,
            "分类编码": rng.choice(leaves) if rng.random() < 0.9 else "",
            "紧急程度": "紧急" if rng.random() < 0.05 else "一般",
            "标题": "", "问题描述": f"{rng.choice(TEXTS)}（{tag}#{i}）", "地址": f"东关大街 {rng.randrange(1, 300)} 号",
            "经度": lon, "纬度": lat, "坐标系": "WGS84" if located else "",
            "反映人": name, "联系电话": f"13{rng.randrange(10**9):09d}" if name else "",
            "上报时间": _report_time(rng, now),
        })
    return rows


def write_files(rows: list[dict], directory: Path, stem: str) -> dict[str, Path]:
    from cityops.intake.columns import IMPORT_COLUMNS
    from cityops.intake.xlsx import stream_xlsx

    headers = [c.header for c in IMPORT_COLUMNS]
    csv_path = directory / f"{stem}.csv"
    with open(csv_path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(headers)
        for row in rows:
            writer.writerow([_text(row[h]) for h in headers])
    xlsx_path = directory / f"{stem}.xlsx"
    with open(xlsx_path, "wb") as fh:
        for chunk in stream_xlsx(headers, ([row[h] if row[h] != "" else None for h in headers] for row in rows), sheet_name="案件"):
            fh.write(chunk)
    return {"csv": csv_path, "xlsx": xlsx_path}


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return repr(value) if isinstance(value, float) else str(value)


def _maxrss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _calibration_ns() -> float:
    """CPU ns per iteration of a plain Python loop (a quiet modern core: about 45 ns)."""
    started = time.process_time()
    total = 0
    for i in range(5_000_000):
        total += i
    return round((time.process_time() - started) / 5_000_000 * 1e9, 1)


def _machine() -> dict:
    cpu = ""
    with contextlib.suppress(OSError):
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), "")
    return {"cpus": os.cpu_count(), "cpu": cpu, "python": platform.python_version(), "load_1m": round(os.getloadavg()[0], 2),
            "calibration_ns_per_loop": _calibration_ns()}


def setup_database() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("demo", no_accounts=True, stdout=io.StringIO())


def round_trip(rows: list[dict], tag: str, user) -> dict:
    """Export (CSV, through case_export) the cases of the last import and compare each with its source row."""
    from cityops.cases.selectors import CaseFilters
    from cityops.intake.columns import IMPORT_COLUMNS
    from cityops.intake.exports import case_export
    from cityops.intake.import_checks import CSV_ESCAPED

    started = time.perf_counter()
    response = case_export(user=user, filters=CaseFilters(q=f"（{tag}#"), fmt="csv", via="benchmark")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    exported = {}
    for record in csv.DictReader(io.StringIO(text, newline="")):
        values = {k: (v[1:] if v.startswith("'") and CSV_ESCAPED.match(v[1:]) else v) for k, v in record.items()}
        exported[values["问题描述"]] = values
    headers = [c.header for c in IMPORT_COLUMNS]
    mismatched = [row["问题描述"] for row in rows if {h: exported.get(row["问题描述"], {}).get(h) for h in headers} != {h: _text(row[h]) for h in headers}]
    return {"rows": len(rows), "exported": len(exported), "mismatched": len(mismatched), "examples": mismatched[:3],
            "seconds": round(time.perf_counter() - started, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--setup", action="store_true", help="migrate and load the demo geography first")
    parser.add_argument("--no-export", action="store_true")
    parser.add_argument("--exports-only", action="store_true", help="no import: export what the database holds (own peak RSS)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    if "cityops.sqlite3" in args.database_url:
        sys.exit("refusing to benchmark on the development database; pass a scratch --database-url")
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from django.db import connection

    from cityops.accounts.models import User
    from cityops.cases.models import Case
    from cityops.cases.selectors import CaseFilters
    from cityops.geo.models import UnitGrid
    from cityops.intake.exports import case_export
    from cityops.intake.imports import cases_import

    report: dict = {"benchmark": "import_export", "date": datetime.now().strftime("%Y-%m-%d %H:%M"),  # noqa: DTZ005
                    "machine": _machine(), "database": connection.vendor, "rows": args.rows}
    tables = connection.introspection.table_names()
    if args.setup or "geo_unitgrid" not in tables or not UnitGrid.objects.exists():
        started = time.perf_counter()
        setup_database()
        report["setup_s"] = round(time.perf_counter() - started, 1)
    report["database_version"] = ".".join(str(v) for v in connection.Database.sqlite_version_info) if connection.vendor == "sqlite" else (
        str(connection.cursor().connection.info.server_version))
    user, _ = User.objects.get_or_create(username="bench", defaults={"is_superuser": True, "is_staff": True})
    report["cases_before"] = Case.objects.count()
    report["maxrss_mb_at_start"] = _maxrss_mb()

    imports = {}
    last_rows, last_tag = [], ""
    with tempfile.TemporaryDirectory(prefix="cityops-bench-") as tmp:
        for index, fmt in enumerate(f for f in ("" if args.exports_only else args.formats).split(",") if f):
            tag = f"B{int(time.time()) % 100000:05d}{fmt[0].upper()}"
            started = time.perf_counter()
            rows = generate(args.rows, tag, args.seed + index)
            files = write_files(rows, Path(tmp), tag)
            generated = round(time.perf_counter() - started, 1)
            load_before = round(os.getloadavg()[0], 2)
            started, cpu_started = time.perf_counter(), time.process_time()
            result = cases_import(source=files[fmt], filename=files[fmt].name, actor=user, refresh=False)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            phases = dict(result.timings)
            refresh_started = time.perf_counter()
            result.refresh()
            refresh = time.perf_counter() - refresh_started
            imports[fmt] = {
                "status": result.status, "created": result.created, "errors": result.errors_total, "seconds": round(seconds, 1),
                "cpu_s": round(cpu, 1),
                "rows_per_s": round(result.created / seconds), "phases": phases, "refresh_s": round(refresh, 1),
                "refresh_phases": {k: v for k, v in result.timings.items() if k not in phases},
                "file_mb": round(files[fmt].stat().st_size / 1048576, 1),
                "generate_s": generated, "load_1m_before": load_before, "load_1m_after": round(os.getloadavg()[0], 2),
                "maxrss_mb": _maxrss_mb(),
            }
            if result.errors:
                imports[fmt]["first_errors"] = [e.as_dict() for e in result.errors[:3]]
            if not args.json:
                print(fmt, json.dumps(imports[fmt], ensure_ascii=False), flush=True)
            last_rows, last_tag = rows, tag
    report["imports"] = imports
    if last_rows:
        report["round_trip"] = round_trip(last_rows, last_tag, user)
        if not args.json:
            print("round trip", json.dumps(report["round_trip"], ensure_ascii=False), flush=True)

    if not args.no_export:
        exports = {}
        for fmt in ("csv", "xlsx", "geojson"):
            started, cpu_started = time.perf_counter(), time.process_time()
            response = case_export(user=user, filters=CaseFilters(), fmt=fmt, via="benchmark")
            first_byte = None
            size = 0
            for chunk in response.streaming_content:
                if first_byte is None:
                    first_byte = time.perf_counter() - started
                size += len(chunk)
            seconds = time.perf_counter() - started
            count = int(response["X-Total-Count"])
            exports[fmt] = {"cases": count, "seconds": round(seconds, 1), "cpu_s": round(time.process_time() - cpu_started, 1),
                            "rows_per_s": round(count / seconds),
                            "first_byte_s": round(first_byte or 0, 2), "mb": round(size / 1048576, 1), "maxrss_mb": _maxrss_mb(),
                            "load_1m_after": round(os.getloadavg()[0], 2)}
            if not args.json:
                print("export", fmt, json.dumps(exports[fmt]), flush=True)
        report["exports"] = exports
    report["cases_after"] = Case.objects.count()
    report["git"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
