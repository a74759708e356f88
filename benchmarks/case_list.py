"""Benchmark the case list and case detail (API and HTML pages) on a large cases table.

Against gunicorn in production mode on the seeded database (`cityops seed --cases N`), one
client at a time (latency, not throughput), each query repeated: the list filtered by status,
department, street and overdue (as the leader, who sees everything, and as a department user,
who sees their own cases), a deep page, and the detail of random cases, each both as JSON
(/api/v1/cases…) and as the HTML page (/cases/…).

    .venv/bin/python benchmarks/case_list.py [--repeat 15] [--database-url URL] [--json]

With --json the last line of output is one JSON object (p50/p95 per query, overall list
p95 and detail p95, and the number of cases in the table).
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from cityops.ops import benchtools  # noqa: E402


def session_cookie(user) -> str:
    """A logged-in session for `user`, as the browser would hold it after signing in."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


def timed_get(port: int, path: str, headers: dict) -> tuple[int, float, int]:
    request = benchtools.http_request("GET", path, headers=headers, keep_alive=False)
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(262144):
            data += chunk
    elapsed = (time.perf_counter() - t0) * 1000
    return int(data[9:12]), elapsed, len(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--database-url", default=benchtools.DEFAULT_BENCH_URL)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    benchtools.migrate(args.database_url)
    benchtools.setup_django(args.database_url)
    from django.db import connection
    from django.db.models import Count

    from cityops.accounts.models import User
    from cityops.api.tokens import token_issue
    from cityops.cases.models import Case

    rng = random.Random(3)
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'cases_case'")
        total = int(cursor.fetchone()[0])
    leader = User.objects.get(username="leader")
    busiest = Case.objects.filter(department__isnull=False, status="in_progress").values("department__code").annotate(n=Count("id")).order_by("-n")[:1]
    dept_code = busiest[0]["department__code"] if busiest else "chengguan"
    dept_user = User.objects.filter(username=f"dept-{dept_code}").first()
    street = Case.objects.filter(street__isnull=False).values_list("street__code", flat=True).order_by("-id")[:1][0]
    max_id = Case.objects.order_by("-id").values_list("id", flat=True)[:1][0]
    numbers = []
    while len(numbers) < args.repeat * 2:
        hit = Case.objects.filter(id__gte=rng.randrange(1, max_id + 1)).order_by("id").values_list("number", flat=True)[:1]
        numbers.extend(hit)
    dept_numbers = list(Case.objects.filter(department__code=dept_code).order_by("-id").values_list("number", flat=True)[: args.repeat])
    leader_api = {"Authorization": f"Bearer {token_issue(user=leader, name='list-benchmark').token}", "Accept": "application/json"}
    leader_web = {"Cookie": session_cookie(leader), "Accept": "text/html"}
    dept_api = {"Authorization": f"Bearer {token_issue(user=dept_user, name='list-benchmark').token}", "Accept": "application/json"} if dept_user else None
    dept_web = {"Cookie": session_cookie(dept_user), "Accept": "text/html"} if dept_user else None

    lists = [
        ("api status=in_progress", "/api/v1/cases?status=in_progress", leader_api),
        ("api status=closed", "/api/v1/cases?status=closed", leader_api),
        ("api department", f"/api/v1/cases?department={dept_code}", leader_api),
        ("api department+status", f"/api/v1/cases?department={dept_code}&status=in_progress", leader_api),
        ("api street", f"/api/v1/cases?street={street}", leader_api),
        ("api overdue", "/api/v1/cases?overdue=true", leader_api),
        ("api page 50", "/api/v1/cases?status=closed&page=50", leader_api),
        ("web status=in_progress", "/cases/?status=in_progress", leader_web),
        ("web department", f"/cases/?department={dept_code}", leader_web),
        ("web street", f"/cases/?street={street}", leader_web),
        ("web overdue", "/cases/?overdue=on", leader_web),
        ("web all", "/cases/", leader_web),
    ]
    if dept_api:
        lists += [
            ("api as department", "/api/v1/cases", dept_api),
            ("api as department, in_progress", "/api/v1/cases?status=in_progress", dept_api),
            ("web as department, overdue", "/cases/?overdue=on", dept_web),
        ]
    details = [("api detail", lambda i: f"/api/v1/cases/{numbers[i]}", leader_api),
               ("web detail", lambda i: f"/cases/{numbers[args.repeat + i]}/", leader_web)]
    if dept_api and dept_numbers:
        details.append(("api detail as department", lambda i: f"/api/v1/cases/{dept_numbers[i % len(dept_numbers)]}", dept_api))

    results: dict[str, dict] = {}
    all_list: list[float] = []
    all_detail: list[float] = []
    with benchtools.Server(args.database_url, workers=args.workers, threads=1) as server:
        for _name, path, headers in lists[:2]:
            timed_get(server.port, path, headers)  # warm the workers
        for name, path, headers in lists:
            times, statuses = [], set()
            for _ in range(args.repeat):
                status, ms, _size = timed_get(server.port, path, headers)
                times.append(ms)
                statuses.add(status)
            all_list += times
            results[name] = {"p50_ms": round(benchtools.percentile(times, 50), 1), "p95_ms": round(benchtools.percentile(times, 95), 1),
                             "status": sorted(statuses)}
            print(f"{name:<34} p50 {results[name]['p50_ms']:>8} ms   p95 {results[name]['p95_ms']:>8} ms   {sorted(statuses)}")
        for name, make, headers in details:
            times, statuses = [], set()
            for i in range(args.repeat):
                status, ms, _size = timed_get(server.port, make(i), headers)
                times.append(ms)
                statuses.add(status)
            all_detail += times
            results[name] = {"p50_ms": round(benchtools.percentile(times, 50), 1), "p95_ms": round(benchtools.percentile(times, 95), 1),
                             "status": sorted(statuses)}
            print(f"{name:<34} p50 {results[name]['p50_ms']:>8} ms   p95 {results[name]['p95_ms']:>8} ms   {sorted(statuses)}")
    figures = {
        "benchmark": "case_list", "date": datetime.now(UTC).date().isoformat(), "machine": benchtools.machine(), "cases_in_table": total,
        "list_p95_ms": round(benchtools.percentile(all_list, 95), 1), "list_p50_ms": round(benchtools.percentile(all_list, 50), 1),
        "detail_p95_ms": round(benchtools.percentile(all_detail, 95), 1), "queries": results, "repeat": args.repeat,
        "target_p95_ms": 100,
    }
    print(f"{total:,} cases: list p95 {figures['list_p95_ms']} ms, detail p95 {figures['detail_p95_ms']} ms, load {figures['machine']['load']}")
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
