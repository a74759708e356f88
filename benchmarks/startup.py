"""Benchmark the edges a new user meets first: command start, `make run` to the first answer,
sign-in and the first dashboard after the server starts.

    .venv/bin/python benchmarks/startup.py commands [--repeat 5] [--json]
        `cityops help`, `cityops check` and `cityops sla_scan --help`: wall and CPU seconds,
        plus whether sklearn / jieba / openpyxl were imported by `check`.
    .venv/bin/python benchmarks/startup.py serve [--port 8106] [--logins 5] [--json]
        starts `cityops serve` on the database of CITYOPS_VAR_DIR (load it first with
        `cityops migrate && cityops demo`), then times: start → first answer, sign-in
        (POST /login/ as `leader` with var/demo_password), the first /dashboard/ after start,
        the second one; stops the server.
    .venv/bin/python benchmarks/startup.py make-run [--repo .] [--port 8106] [--json]
        clones the repository's committed HEAD into a temporary folder and runs `make run`
        there twice: fresh clone → first HTTP 200 on /login/, then a restart (everything
        installed and loaded) → first answer; then sign-in and the first dashboard.

With --json the last line of output is one JSON object. Loopback only.
"""

from __future__ import annotations

import argparse
import contextlib
import http.cookiejar
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CITYOPS = ROOT / ".venv" / "bin" / "cityops"


def log(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


def machine() -> dict:
    load = Path("/proc/loadavg").read_text().split()[:3]
    return {"cores": os.cpu_count(), "load": [float(x) for x in load], "python": sys.version.split()[0],
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_command(argv: list[str], env: dict) -> tuple[float, float]:
    """Wall and CPU seconds of one command."""
    cpu0, t0 = _children_cpu(), time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0, _children_cpu() - cpu0


HEAVY_PROBE = (
    "import os, sys, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings.local');"
    "from django.core.management import call_command; django.setup(); call_command('check', verbosity=0);"
    "print(sorted(m for m in ('sklearn', 'scipy', 'jieba', 'openpyxl', 'joblib', 'numpy', 'shapely', 'redis', 'holidays') if m in sys.modules))"
)


def bench_commands(repeat: int) -> dict:
    env = {**os.environ}
    env.setdefault("CITYOPS_VAR_DIR", tempfile.mkdtemp(prefix="cityops-bench-var-"))
    result = {}
    for label, argv in {
        "help": [str(CITYOPS), "help"],
        "check": [str(CITYOPS), "check"],
        "sla_scan --help": [str(CITYOPS), "sla_scan", "--help"],
    }.items():
        runs = [time_command(argv, env) for _ in range(repeat)]
        walls, cpus = sorted(r[0] for r in runs), sorted(r[1] for r in runs)
        result[label] = {"wall_median_s": round(walls[len(walls) // 2], 2), "wall_min_s": round(walls[0], 2),
                         "cpu_median_s": round(cpus[len(cpus) // 2], 2)}
        log(f"cityops {label:<16} wall median {result[label]['wall_median_s']} s (min {result[label]['wall_min_s']} s), "
            f"CPU median {result[label]['cpu_median_s']} s")
    probe = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", HEAVY_PROBE], env=env, cwd=ROOT,
                           capture_output=True, text=True, check=True)
    result["heavy_modules_after_check"] = json.loads(probe.stdout.strip().splitlines()[-1].replace("'", '"'))
    log(f"heavy modules imported by setup + check: {result['heavy_modules_after_check']}")
    return result


class Client:
    """A browser-like client: cookies, the CSRF token of the login form."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> tuple[int, str, float]:
        t0 = time.perf_counter()
        try:
            with self.opener.open(self.base + path, timeout=120) as response:
                body = response.read().decode("utf-8", "replace")
                return response.status, body, time.perf_counter() - t0
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace"), time.perf_counter() - t0

    def login(self, username: str, password: str) -> tuple[int, float]:
        _, body, _ = self.get("/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)
        data = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token}).encode()
        request = urllib.request.Request(self.base + "/login/", data=data, headers={"Referer": self.base + "/login/"})
        t0 = time.perf_counter()
        with self.opener.open(request, timeout=120) as response:  # follows the redirect to the home page
            response.read()
            elapsed = time.perf_counter() - t0
            if "/login/" in response.geturl():
                raise SystemExit(f"sign-in as {username} failed")
            return response.status, elapsed


def wait_first_answer(base: str, deadline_s: float, proc: subprocess.Popen | None = None) -> float | None:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < deadline_s:
        if proc is not None and proc.poll() is not None:
            return None
        try:
            with urllib.request.urlopen(base + "/login/", timeout=5) as response:
                if response.status == 200:
                    return time.perf_counter() - t0
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    return None


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def signin_and_dashboard(base: str, password: str, logins: int) -> dict:
    first = Client(base)
    _, signin_first = first.login("leader", password)
    status, _, dash_first = first.get("/dashboard/")
    _, _, dash_second = first.get("/dashboard/")
    times = []
    for _ in range(logins):
        times.append(Client(base).login("leader", password)[1])
    times.sort()
    result = {"signin_first_s": round(signin_first, 3), "signin_median_s": round(times[len(times) // 2], 3),
              "signin_max_s": round(times[-1], 3), "dashboard_first_s": round(dash_first, 3),
              "dashboard_status": status, "dashboard_second_s": round(dash_second, 3)}
    log(f"sign-in: first {result['signin_first_s']} s, median of {logins} {result['signin_median_s']} s, max {result['signin_max_s']} s")
    log(f"/dashboard/ (HTTP {status}): first after start {result['dashboard_first_s']} s, second {result['dashboard_second_s']} s")
    return result


def bench_serve(port: int, logins: int) -> dict:
    env = {**os.environ, "PORT": str(port)}
    var_dir = Path(env.get("CITYOPS_VAR_DIR", ROOT / "var"))
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([str(CITYOPS), "serve"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        started = wait_first_answer(base, 120, proc)
        if started is None:
            raise SystemExit("the server gave no answer")
        log(f"cityops serve → first answer: {started:.2f} s")
        password = os.environ.get("CITYOPS_DEMO_PASSWORD") or (var_dir / "demo_password").read_text().strip()
        return {"serve_first_answer_s": round(started, 2), **signin_and_dashboard(base, password, logins)}
    finally:
        stop(proc)


def bench_make_run(repo: Path, port: int, logins: int) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="cityops-make-run-"))
    clone = workdir / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CITYOPS_VAR_DIR", "DJANGO_", "VIRTUAL_ENV"))}
    env["PORT"] = str(port)
    base = f"http://127.0.0.1:{port}"
    result: dict = {}
    try:
        for label in ("fresh_clone", "restart"):
            logfile = (workdir / f"{label}.log").open("w")
            t0 = time.perf_counter()
            proc = subprocess.Popen(["make", "run"], cwd=clone, env=env, stdout=logfile, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            try:
                answered = wait_first_answer(base, 600, proc)
                elapsed = time.perf_counter() - t0
                if answered is None:
                    raise SystemExit(f"make run ({label}) gave no answer; log in {workdir / f'{label}.log'}")
                result[f"{label}_first_answer_s"] = round(elapsed, 1)
                log(f"make run ({label}) → first answer: {elapsed:.1f} s")
                if label == "restart":
                    password = (clone / "var" / "demo_password").read_text().strip()
                    result.update(signin_and_dashboard(base, password, logins))
            finally:
                stop(proc)
                logfile.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    commands = sub.add_parser("commands")
    commands.add_argument("--repeat", type=int, default=5)
    serve = sub.add_parser("serve")
    serve.add_argument("--port", type=int, default=8106)
    serve.add_argument("--logins", type=int, default=5)
    make_run = sub.add_parser("make-run")
    make_run.add_argument("--repo", type=Path, default=ROOT)
    make_run.add_argument("--port", type=int, default=8106)
    make_run.add_argument("--logins", type=int, default=5)
    for p in (commands, serve, make_run):
        p.add_argument("--json", action="store_true")
    args = parser.parse_args()

    before = machine()
    if args.what == "commands":
        figures = bench_commands(args.repeat)
    elif args.what == "serve":
        figures = bench_serve(args.port, args.logins)
    else:
        figures = bench_make_run(args.repo.resolve(), args.port, args.logins)
    report = {"benchmark": f"startup {args.what}", "machine_before": before, "machine_after": machine(), **figures}
    log(f"load before {before['load']}, after {report['machine_after']['load']}")
    if args.json:
        print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
