"""The embedded default driven from outside, as `make run` serves it: a `cityops serve` process
on its own SQLite file, var directory and port, and many writers sending requests at once.

Used by `ops/tests/test_embedded.py` (the periodic jobs run under `cityops serve`; sixteen
concurrent writers get no error) and `benchmarks/embedded_writes.py` (the same load, measured).
Not used by the product.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_database(connection, path: Path) -> None:
    """Copy the (SQLite) database behind a Django connection into the file `path`."""
    connection.ensure_connection()
    target = sqlite3.connect(path)
    try:
        connection.connection.backup(target)
    finally:
        target.close()


def read_rows(path: Path, sql: str, params: Iterable = ()) -> list[tuple]:
    """Read the served database directly (the test's own connection points elsewhere)."""
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as db:
        return db.execute(sql, tuple(params)).fetchall()


@dataclass
class Served:
    """`cityops serve` on 127.0.0.1:<port>, as `make run` serves (no auto-reloader; with
    `reload=True` the development variant `--reload`, whose serving child runs the jobs)."""

    database: Path
    var_dir: Path
    port: int = 0
    extra_env: dict[str, str] = field(default_factory=dict)
    reload: bool = False
    proc: subprocess.Popen | None = None
    log_path: Path | None = None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CITYOPS_INPROCESS_SCHEDULER", "RUN_MAIN")}
        env.update({
            "DJANGO_SETTINGS_MODULE": "config.settings.local", "DATABASE_URL": f"sqlite:///{self.database}",
            "CITYOPS_VAR_DIR": str(self.var_dir), "PORT": str(self.port), "LOG_LEVEL": "WARNING",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]), "PYTHONUNBUFFERED": "1",
        })
        env.update(self.extra_env)
        return env

    def command(self) -> list[str]:
        script = Path(sys.executable).parent / "cityops"
        command = [str(script), "serve"] if script.exists() else [sys.executable, "-m", "cityops.cli", "serve"]
        return [*command, "--reload"] if self.reload else command

    def start(self, timeout: float = 180) -> Served:
        self.port = self.port or free_port()
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.var_dir / "serve.log"
        log = open(self.log_path, "wb")  # noqa: SIM115  (the child writes to it until stop())
        self.proc = subprocess.Popen(self.command(), env=self.env(), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"cityops serve exited with {self.proc.returncode}:\n{self.log()}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                if request(self.port, "GET", "/healthz", timeout=2)[0] == 200:
                    return self
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"cityops serve did not answer within {timeout:.0f} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path and self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=20)

    def __enter__(self) -> Served:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def request(port: int, method: str, path: str, body: object = None, headers: dict | None = None,
            timeout: float = 60) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        all_headers = {"Content-Type": "application/json", **(headers or {})} if data is not None else dict(headers or {})
        conn.request(method, path, body=data, headers=all_headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@dataclass
class Outcome:
    kind: str
    status: int | None
    ms: float
    body: bytes = b""
    error: str = ""


@dataclass
class Load:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def errors(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status is None or not 200 <= o.status < 300]

    def summary(self, writers: int) -> dict:
        ms = sorted(o.ms for o in self.outcomes)

        def pct(p: float) -> float:
            return round(ms[min(len(ms) - 1, round((len(ms) - 1) * p / 100))], 1) if ms else 0.0

        statuses: dict[str, int] = {}
        for o in self.outcomes:
            key = str(o.status) if o.status is not None else "exception"
            statuses[key] = statuses.get(key, 0) + 1
        return {"writers": writers, "requests": len(self.outcomes), "errors": len(self.errors), "statuses": statuses,
                "p50_ms": pct(50), "p95_ms": pct(95), "max_ms": pct(100), "seconds": round(self.seconds, 2)}


def fire(port: int, work: list[list[tuple[str, str, str, object, dict]]]) -> Load:
    """One thread per writer, all released together; each sends its (kind, method, path, body,
    headers) requests one after the other. Every answer is recorded."""
    load = Load()
    lock = threading.Lock()
    gate = threading.Barrier(len(work))

    def writer(items: list[tuple[str, str, str, object, dict]]) -> None:
        gate.wait()
        for kind, method, path, body, headers in items:
            t0 = time.perf_counter()
            try:
                status, data = request(port, method, path, body, headers)
                outcome = Outcome(kind, status, (time.perf_counter() - t0) * 1000, data[:500])
            except (OSError, http.client.HTTPException) as exc:
                outcome = Outcome(kind, None, (time.perf_counter() - t0) * 1000, error=repr(exc))
            with lock:
                load.outcomes.append(outcome)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(work)) as pool:
        list(pool.map(writer, work))
    load.seconds = time.perf_counter() - started
    return load
