"""`make run-prod`: the production stack on one machine, against the local PostgreSQL and Redis.

    python -m cityops.ops.run_prod

Prepares the environment (production settings, a generated SECRET_KEY kept in var/, plain
http on 127.0.0.1), creates the database if it is missing, runs migrate, collectstatic and
the reference/demo data, then starts gunicorn, one Celery worker and Celery beat, and waits.
Ctrl-C (or SIGTERM) stops all three; if one of them dies, the others are stopped too.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[3]
VAR = Path(os.environ.get("CITYOPS_VAR_DIR", ROOT / "var"))
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/cityops"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def log(message: str) -> None:
    print(f"[run-prod] {message}", flush=True)


def secret_key() -> str:
    VAR.mkdir(parents=True, exist_ok=True)
    path = VAR / "prod_secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


def audit_key_file() -> Path:
    """The audit chain's HMAC key for this one-machine stack, generated once (docs/deploy.md)."""
    VAR.mkdir(parents=True, exist_ok=True)
    path = VAR / "prod_audit_hmac_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.production"
    env.setdefault("SECRET_KEY", secret_key())
    if not env.get("CITYOPS_AUDIT_HMAC_KEY") and not env.get("CITYOPS_AUDIT_HMAC_KEY_FILE"):
        env["CITYOPS_AUDIT_HMAC_KEY_FILE"] = str(audit_key_file())
    env.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    env.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    # Plain http on this machine only: no redirect to https, cookies not marked Secure.
    env.setdefault("SECURE_SSL_REDIRECT", "0")
    env.setdefault("SESSION_COOKIE_SECURE", "0")
    env.setdefault("CSRF_COOKIE_SECURE", "0")
    env.setdefault("PORT", "8000")
    env.setdefault("DB_CONN_MAX_AGE", "60")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database of `url` if it does not exist yet."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit((parts.scheme.replace("postgis", "postgres"), parts.netloc, "/postgres", parts.query, ""))
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                log(f"created database {name}")
    except psycopg.OperationalError as exc:
        raise SystemExit(f"[run-prod] PostgreSQL is not reachable at {parts.netloc}: {exc}") from None


def redis_reachable(url: str) -> bool:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False
    return True


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "cityops.cli", *args], env=env, cwd=ROOT, check=True)


def prepare(env: dict[str, str]) -> None:
    """Schema, static files and the demo. The three administrator accounts do not get the shared
    demo password here: each gets its own initial password (CITYOPS_INITIAL_PASSWORD_SYSADMIN,
    …_SECADMIN, …_AUDITOR, or a random one printed once below), changed at the first login."""
    log("migrate / collectstatic / reference data")
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    if env.get("CITYOPS_RUN_PROD_DEMO", "1") != "0":
        manage(env, "demo", "--admin-initial-passwords")


def main() -> int:
    env = environment()
    if env["DATABASE_URL"].startswith(("postgres://", "postgresql://")):
        ensure_database(env["DATABASE_URL"])
    if not redis_reachable(env["REDIS_URL"]):
        log(f"Redis is not reachable at {env['REDIS_URL']}: the web will serve, the workers wait for it")
    prepare(env)
    VAR.mkdir(parents=True, exist_ok=True)
    commands = {
        "web": [sys.executable, "-m", "gunicorn", "-c", "python:cityops.ops.gunicorn_conf", "config.wsgi:application"],
        "worker": [sys.executable, "-m", "celery", "-A", "config.celery", "worker", "--loglevel", "INFO",
                   "--concurrency", env.get("CELERY_CONCURRENCY", "2"), "--hostname", "cityops-worker@%h"],
        "beat": [sys.executable, "-m", "celery", "-A", "config.celery", "beat", "--loglevel", "INFO",
                 "--schedule", str(VAR / "celerybeat-schedule"), "--pidfile", ""],
    }
    procs: dict[str, subprocess.Popen] = {}
    for name, command in commands.items():
        procs[name] = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
        log(f"started {name} (pid {procs[name].pid})")
    log(f"CityOps is serving on http://127.0.0.1:{env['PORT']}/  (Ctrl-C to stop)")

    stopping = False

    def stop(*_args) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    status = 0
    while any(p.poll() is None for p in procs.values()):
        for name, proc in procs.items():
            if proc.poll() is not None and not stopping:
                log(f"{name} exited with {proc.returncode}; stopping the others")
                status = proc.returncode or 1
                stop()
        time.sleep(0.5)
    deadline = time.monotonic() + 30
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    log("stopped")
    return status


if __name__ == "__main__":
    sys.exit(main())
