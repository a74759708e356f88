"""Concurrent writers against the embedded default: `cityops serve` on SQLite, as `make run` serves.

A fresh var directory (migrated, one street of the demo partition, the catalogue, the demo
accounts) is served by a real `cityops serve` process; WRITERS threads are released together
and each sends ROUNDS write requests one after the other, in four kinds:

* city 12345 orders (`POST /api/v1/intake/city`), the first three writers sending the same
  orders at the same moment;
* video/IoT alarms (`POST /api/v1/intake/alarm`), three writers repeating one device's alarm;
* 立案 (`POST /api/v1/cases/<n>/actions/register`) and 派遣 (`…/dispatch`) of their own cases.

Any answer other than 2xx is an error (before WAL + busy timeout + BEGIN IMMEDIATE, SQLite
answered such bursts with 503 "database is locked"). With `--import-rows N` a `cityops import
cases` of N rows runs at the same time, so the figures show what writers see during an import.

    .venv/bin/python benchmarks/embedded_writes.py [--writers 16] [--rounds 20] [--import-rows 0]
        [--var-dir DIR] [--port N] [--settle SECONDS] [--json]

With --json the last line is one JSON object: writers, requests, errors, statuses, p50_ms,
p95_ms, max_ms, seconds, by kind, and the machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from cityops.ops import benchtools, embedded  # noqa: E402

STREET = "630102001"


def cityops(*args: str, env: dict) -> None:
    script = Path(sys.executable).parent / "cityops"
    subprocess.run([str(script), *args], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def prepare(var_dir: Path, cases_needed: int, import_rows: int) -> dict:
    """Migrate a fresh database, load one street and the catalogue, issue keys and tokens."""
    database = var_dir / "cityops.sqlite3"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local", "CITYOPS_VAR_DIR": str(var_dir),
           "DATABASE_URL": f"sqlite:///{database}"}
    env.pop("REDIS_URL", None)
    cityops("migrate", "--noinput", env=env)
    os.environ.update({k: env[k] for k in ("DJANGO_SETTINGS_MODULE", "CITYOPS_VAR_DIR", "DATABASE_URL")})
    import django

    django.setup()
    from shapely.geometry import shape

    from cityops.accounts.demo import demo_accounts_ensure
    from cityops.accounts.models import User
    from cityops.accounts.services import roles_sync
    from cityops.api.keys import apikey_issue
    from cityops.api.tokens import token_issue
    from cityops.cases.services import CaseInput, case_create
    from cityops.cases.workflow import case_transition
    from cityops.catalog.models import Category, Department
    from cityops.catalog.services import load_reference_data
    from cityops.geo.models import UnitGrid
    from cityops.geo.services import generate_demo_partition, load_reference_regions

    load_reference_regions()
    generate_demo_partition(street_codes=[STREET])
    load_reference_data()
    roles_sync()
    demo_accounts_ensure("Bench-pass-123")
    grid = UnitGrid.objects.filter(street__code=STREET).order_by("code").first()
    point = shape(grid.boundary).representative_point()
    category = Category.objects.filter(active=True, children__isnull=True).order_by("code").first()
    department = Department.objects.filter(active=True).exclude(code="CENTER").order_by("code").first()
    operator, dispatcher = User.objects.get(username="operator"), User.objects.get(username="dispatcher")
    numbers = [
        case_create(data=CaseInput(description=f"路灯不亮（压测 {i}）", category=category.code, lon=point.x, lat=point.y),
                    actor_label="bench").number
        for i in range(cases_needed)
    ]
    half = cases_needed // 2
    from cityops.cases.models import Case

    for number in numbers[half:]:
        case_transition(case=Case.objects.get(number=number), action="register", actor=operator)
    sheet = None
    if import_rows:
        sheet = var_dir / "import.csv"
        with open(sheet, "w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["外部编号", "来源渠道", "工单类型", "分类编码", "问题描述", "地址", "经度", "纬度", "坐标系", "上报时间"])
            for i in range(import_rows):
                writer.writerow([f"IMP-{i}", "热线电话", "投诉", category.code, f"批量导入压测 {i}", "东关大街", point.x, point.y,
                                 "WGS84", "2026-11-20 09:30"])
    return {
        "database": database, "env": env, "numbers": numbers, "half": half, "point": (point.x, point.y),
        "department": department.code, "system_key": apikey_issue(name="并发压测", role="system").key,
        "operator": token_issue(user=operator).token, "dispatcher": token_issue(user=dispatcher).token, "sheet": sheet,
    }


def work(setup: dict, writers: int, rounds: int) -> list[list[tuple]]:
    lon, lat = setup["point"]
    key = {"X-API-Key": setup["system_key"]}
    register = list(setup["numbers"][: setup["half"]])
    dispatch = list(setup["numbers"][setup["half"] :])
    plan = []
    for w in range(writers):
        kind = ("city", "alarm", "register", "dispatch")[w % 4]
        items = []
        for r in range(rounds):
            if kind == "city":
                order = f"SH-{r}" if w < 9 else f"SH-{w}-{r}"  # writers 0, 4 and 8 send the same orders
                items.append((kind, "POST", "/api/v1/intake/city", {"order_no": order, "description": f"垃圾未清运 {order}"}, key))
            elif kind == "alarm":
                device = "CAM-SAME" if w < 12 else f"CAM-{w}"  # writers 1, 5 and 9 repeat one device
                items.append((kind, "POST", "/api/v1/intake/alarm", {"device_id": device, "event_type": f"overflow_{r}",
                                                                     "lon": lon, "lat": lat}, key))
            elif kind == "register":
                items.append((kind, "POST", f"/api/v1/cases/{register.pop()}/actions/register", {},
                              {"Authorization": f"Bearer {setup['operator']}"}))
            else:
                items.append((kind, "POST", f"/api/v1/cases/{dispatch.pop()}/actions/dispatch",
                              {"department": setup["department"]}, {"Authorization": f"Bearer {setup['dispatcher']}"}))
        plan.append(items)
    return plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--import-rows", type=int, default=0)
    parser.add_argument("--var-dir")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--settle", type=float, default=10, help="seconds between start-up and load (the first jobs run)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    var_dir = Path(args.var_dir or tempfile.mkdtemp(prefix="cityops-embedded-"))
    per_kind = -(-args.writers // 4) * args.rounds  # register / dispatch writers need a case per request
    t0 = time.perf_counter()
    setup = prepare(var_dir, 2 * per_kind, args.import_rows)
    print(f"prepared {var_dir} in {time.perf_counter() - t0:.0f} s", flush=True)
    server = embedded.Served(database=setup["database"], var_dir=var_dir / "serve", port=args.port).start()
    importer = None
    try:
        time.sleep(args.settle)
        if setup["sheet"]:
            importer = subprocess.Popen([str(Path(sys.executable).parent / "cityops"), "import", "cases", str(setup["sheet"]),
                                         "--no-progress"], env=setup["env"], cwd=ROOT, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
            time.sleep(float(os.environ.get("BENCH_IMPORT_HEAD_START", "15")))  # past start-up and validation, into the writes
        load = embedded.fire(server.port, work(setup, args.writers, args.rounds))
        import_output = importer.communicate(timeout=900)[0].strip().splitlines()[-12:] if importer else []
    finally:
        server.stop()
    summary = load.summary(args.writers)
    by_kind = {}
    for kind in ("city", "alarm", "register", "dispatch"):
        part = embedded.Load([o for o in load.outcomes if o.kind == kind])
        by_kind[kind] = {k: v for k, v in part.summary(0).items() if k in ("requests", "errors", "p50_ms", "p95_ms")}
    result = {**summary, "by_kind": by_kind, "import_rows": args.import_rows, "import_output": import_output,
              "machine": benchtools.machine(), "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    for o in load.errors[:5]:
        print("error:", o.kind, o.status, o.body[:200] or o.error)
    print(f"{summary['writers']} writers, {summary['requests']} requests, {summary['errors']} errors, "
          f"p50 {summary['p50_ms']} ms, p95 {summary['p95_ms']} ms, max {summary['max_ms']} ms")
    if args.json:
        print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
