"""Helpers shared by the scale benchmarks in benchmarks/ (not used by the product).

* a PostgreSQL benchmark database, cloned from a template that holds the reference data;
* a gunicorn server in production mode on 127.0.0.1 (started, waited for, stopped);
* a small asyncio HTTP/1.1 load client (keep-alive, bounded concurrency and duration);
* RSS of processes from /proc; percentiles; a description of the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_BENCH_URL = "postgres://postgres@127.0.0.1:5432/cityops_bench"
TEMPLATE_DB = "cityops_bench_tpl"


# ---------------------------------------------------------------- machine, numbers


def machine() -> dict:
    load = os.getloadavg()
    mem_kb = 0
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return {"cores": os.cpu_count(), "mem_gb": round(mem_kb / 1024 / 1024), "load": [round(x, 2) for x in load]}


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process (all its threads) has used so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def pg_backends(database_url: str) -> list[int]:
    """Process ids of the PostgreSQL backends serving `database_url`'s database (same machine)."""
    import psycopg

    name = urlsplit(database_url).path.lstrip("/")
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
            [name],
        ).fetchall()
    return [r[0] for r in rows]


class CpuMeter:
    """CPU seconds used by the web workers, their PostgreSQL backends and this (client) process
    between `start()` and `stop()`: a figure the other programs on a busy machine do not skew."""

    def __init__(self, database_url: str, web_pids, **other_pids) -> None:
        self.database_url, self.web_pids, self.other_pids = database_url, web_pids, other_pids

    def _sample(self) -> dict[str, float]:
        web = sum(cpu_seconds(p) for p in self.web_pids())
        db = sum(cpu_seconds(p) for p in pg_backends(self.database_url))
        others = {name: sum(cpu_seconds(p) for p in pids()) for name, pids in self.other_pids.items()}
        return {"web": web, "db": db, "client": time.process_time(), **others}

    def start(self) -> None:
        self.before = self._sample()

    def stop(self) -> dict[str, float]:
        after = self._sample()
        return {k: max(0.0, after[k] - self.before[k]) for k in after}


# ---------------------------------------------------------------- database


def ensure_database(url: str, template: str | None = TEMPLATE_DB) -> bool:
    """Create the database of `url` (from `template` when it exists); True when created."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            migrate(url)  # other apps' tables may have been added since the database was made
            return False
        has_template = template and conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template]).fetchone()
        if has_template:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
        else:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    if not has_template:
        env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.local"}
        cli = [sys.executable, "-m", "cityops.cli"]
        subprocess.run([*cli, "migrate", "--noinput"], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([*cli, "demo"], env={**env, "CITYOPS_DEMO_PASSWORD": env.get("CITYOPS_DEMO_PASSWORD", "bench-pass-2026")},
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return True


def migrate(url: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.local"}
    subprocess.run([sys.executable, "-m", "cityops.cli", "migrate", "--noinput"], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)


def setup_django(database_url: str, settings: str = "config.settings.production") -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = settings
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(64))
    os.environ.setdefault("CITYOPS_AUDIT_HMAC_KEY", secrets.token_urlsafe(48))
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
    import django

    django.setup()


# ---------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """gunicorn in production mode on 127.0.0.1, or a Celery worker (`kind="worker"`)."""

    database_url: str
    port: int = 0
    workers: int = 4
    threads: int = 2
    worker_class: str = "gthread"
    extra_env: dict = field(default_factory=dict)
    proc: subprocess.Popen | None = None

    def env(self) -> dict:
        env = dict(os.environ)
        env.update({
            "DJANGO_SETTINGS_MODULE": "config.settings.production", "DATABASE_URL": self.database_url,
            "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(64), "SECURE_SSL_REDIRECT": "0",
            # One key for every server and worker of the run (they share the audit chain).
            "CITYOPS_AUDIT_HMAC_KEY": os.environ.setdefault("CITYOPS_AUDIT_HMAC_KEY", secrets.token_urlsafe(48)),
            "SESSION_COOKIE_SECURE": "0", "CSRF_COOKIE_SECURE": "0", "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            "CITYOPS_BENCHMARK_ENDPOINTS": "1", "WEB_CONCURRENCY": str(self.workers), "GUNICORN_THREADS": str(self.threads),
            "GUNICORN_WORKER_CLASS": self.worker_class, "PORT": str(self.port), "LOG_LEVEL": "WARNING",
            # No recycling mid-run: a replaced worker takes its CPU counters with it.
            "GUNICORN_MAX_REQUESTS": "0",
            "GUNICORN_LOG_LEVEL": "warning", "CITYOPS_STATICFILES_STORAGE": "whitenoise.storage.CompressedStaticFilesStorage", "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        })
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 240) -> Server:
        self.port = self.port or free_port()
        cmd = [sys.executable, "-m", "gunicorn", "-c", "python:cityops.ops.gunicorn_conf", "config.wsgi:application"]
        self.proc = subprocess.Popen(cmd, env=self.env(), cwd=ROOT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                if b" 200 " in s.recv(100):
                    return self
            time.sleep(0.3)
        self.stop()
        raise RuntimeError("gunicorn did not come up")

    @property
    def worker_pids(self) -> list[int]:
        return children(self.proc.pid) if self.proc else []

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@contextlib.contextmanager
def _background(cmd: list[str], env: dict) -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def celery_worker(database_url: str, concurrency: int = 1, extra_env: dict | None = None):
    env = Server(database_url).env()
    env.update(extra_env or {})
    cmd = [sys.executable, "-m", "celery", "-A", "config.celery", "worker", "--loglevel", "WARNING",
           "--concurrency", str(concurrency), "--without-gossip", "--without-mingle", "--without-heartbeat",
           "--hostname", f"bench-{os.getpid()}@%h"]
    return _background(cmd, env)


def fanout_follower(database_url: str):
    """`cityops fanout --follow`: the deferred derived work of case events, as production runs it."""
    cmd = [sys.executable, "-m", "django", "fanout", "--follow"]
    return _background(cmd, Server(database_url).env())


# ---------------------------------------------------------------- HTTP load


@dataclass
class LoadResult:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> int:
        return sum(n for s, n in self.statuses.items() if 200 <= s < 300)

    @property
    def per_s(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def summary(self) -> dict:
        return {
            "per_s": round(self.per_s, 1), "ok": self.ok, "requests": sum(self.statuses.values()), "errors": self.errors,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "p50_ms": round(percentile(self.latencies_ms, 50), 1), "p95_ms": round(percentile(self.latencies_ms, 95), 1),
            "p99_ms": round(percentile(self.latencies_ms, 99), 1), "seconds": round(self.seconds, 1),
        }


def http_request(method: str, path: str, body: bytes = b"", headers: dict | None = None, keep_alive: bool = True) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Connection: {'keep-alive' if keep_alive else 'close'}"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    close = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        lname = name.strip().lower()
        if lname == b"content-length":
            length = int(value)
        elif lname == b"connection" and value.strip().lower() == b"close":
            close = True
    body = await reader.readexactly(length) if length else b""
    return status, close, body


async def _client(port: int, make: Callable[[], bytes], until: float, result: LoadResult, record_from: float) -> None:
    reader = writer = None
    while time.monotonic() < until:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            request = make()
            t0 = time.perf_counter()
            writer.write(request)
            status, close, _body = await _read_response(reader)
            elapsed = (time.perf_counter() - t0) * 1000
            if time.monotonic() >= record_from:
                result.latencies_ms.append(elapsed)
                result.statuses[status] = result.statuses.get(status, 0) + 1
            if close:
                writer.close()
                reader = writer = None
        except (OSError, asyncio.IncompleteReadError, ValueError):
            if time.monotonic() >= record_from:
                result.errors += 1
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.01)
    if writer is not None:
        writer.close()


def run_load(port: int, make: Callable[[], bytes], *, clients: int, seconds: float, warmup: float = 2.0) -> LoadResult:
    """`clients` concurrent keep-alive connections sending `make()` for `warmup + seconds`;
    only the last `seconds` are recorded."""
    result = LoadResult()

    async def main() -> None:
        start = time.monotonic()
        record_from = start + warmup
        until = record_from + seconds
        await asyncio.gather(*(_client(port, make, until, result, record_from) for _ in range(clients)))
        result.seconds = time.monotonic() - record_from

    asyncio.run(main())
    return result


def get_json(port: int, path: str, headers: dict | None = None) -> tuple[int, object]:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(http_request("GET", path, headers=headers, keep_alive=False))
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head[9:12])
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body
