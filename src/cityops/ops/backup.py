"""Backup and restore of the database and the uploaded files, with a manifest to check both.

`backup_create()` writes one tar.gz:

* `database.dump` (PostgreSQL, `pg_dump --format=custom`) or `database.sqlite3` (SQLite,
  the online backup API, safe while the server runs);
* `media/…`, every uploaded file under MEDIA_ROOT;
* `manifest.json`: app version, date, engine, per-table row count and checksum, and the
  SHA-256 of every other member of the archive.

A table's checksum is SHA-256 over its rows read `ORDER BY` the primary key, each value
normalised to text (`_norm`). It is computed by the same code on the source and on the
restored database, which is what makes "restored == backed up" checkable. On PostgreSQL the
rows are read in a REPEATABLE READ transaction whose snapshot `pg_dump --snapshot` reuses,
so the manifest describes exactly the dumped data even while the system keeps writing.

`backup_verify()` checks the archive alone (members and hashes). `backup_restore()` refuses
a non-empty target unless forced, restores, then recomputes counts and checksums against
the manifest; any difference is reported.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from django.conf import settings
from django.db import connection
from django.utils import timezone

MANIFEST = "manifest.json"
PG_DUMP = "database.dump"
SQLITE_DUMP = "database.sqlite3"
MEDIA_DIR = "media"
FORMAT_VERSION = 1
CHUNK = 2000


class BackupError(Exception):
    """The backup or restore cannot go on (bad archive, non-empty target, tool failure)."""


@dataclass
class VerifyReport:
    """What a check found; `ok` when nothing differs."""

    problems: list[str] = field(default_factory=list)
    checked_tables: int = 0
    checked_files: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


# ---------------------------------------------------------------- table fingerprints


def _norm(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bytes | bytearray | memoryview):
        return "x" + bytes(value).hex()
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return str(value)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sqlite_tables(cur) -> Iterator[tuple[str, list[str]]]:
    cur.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    for (name,) in cur.fetchall():
        cur.execute(f"PRAGMA table_info({_quote(name)})")
        cols = cur.fetchall()
        pk = [c[1] for c in sorted((c for c in cols if c[5]), key=lambda c: c[5])]
        yield name, pk or [c[1] for c in cols]


def _pg_tables(cur) -> Iterator[tuple[str, list[str]]]:
    cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
    for (name,) in cur.fetchall():
        cur.execute(
            """SELECT a.attname FROM pg_index i
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
               WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)""",
            [_quote(name)],
        )
        pk = [r[0] for r in cur.fetchall()]
        if not pk:
            cur.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = %s ORDER BY ordinal_position", [name],
            )
            pk = [r[0] for r in cur.fetchall()]
        yield name, pk


def fingerprint(raw_connection, vendor: str) -> dict[str, dict[str, Any]]:
    """{table: {"rows": n, "sha256": hex}} for every table, read in primary-key order."""
    cur = raw_connection.cursor()
    tables = list(_pg_tables(cur) if vendor == "postgresql" else _sqlite_tables(cur))
    result: dict[str, dict[str, Any]] = {}
    for n, (name, order) in enumerate(tables):
        digest = hashlib.sha256()
        rows = 0
        # A server-side cursor on PostgreSQL: a large table is streamed, not loaded whole.
        data = raw_connection.cursor(name=f"cityops_fp_{n}") if vendor == "postgresql" else cur
        data.execute(f"SELECT * FROM {_quote(name)} ORDER BY {', '.join(_quote(c) for c in order)}")  # names come from the catalog, quoted
        while batch := data.fetchmany(CHUNK):
            for row in batch:
                digest.update(("\x1f".join(_norm(v) for v in row) + "\x1e").encode("utf-8"))
            rows += len(batch)
        if data is not cur:
            data.close()
        result[name] = {"rows": rows, "sha256": digest.hexdigest()}
    cur.close()
    return result


# ---------------------------------------------------------------- files


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _media_files(root: Path) -> Iterator[Path]:
    if not root.exists():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path


def _app_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cityops")
    except PackageNotFoundError:
        return "unknown"


# ---------------------------------------------------------------- database access


@dataclass(frozen=True)
class DbTarget:
    vendor: str  # "postgresql" or "sqlite"
    name: str  # database name, or the SQLite file path
    host: str = ""
    port: str = ""
    user: str = ""
    password: str = ""

    @classmethod
    def from_url(cls, url: str) -> DbTarget:
        parsed = urlparse(url)
        if parsed.scheme in ("postgres", "postgresql", "pgsql"):
            return cls("postgresql", unquote(parsed.path.lstrip("/")), parsed.hostname or "", str(parsed.port or ""),
                       unquote(parsed.username or ""), unquote(parsed.password or ""))
        if parsed.scheme == "sqlite":
            path = url[len("sqlite://"):]
            return cls("sqlite", path[1:] if path.startswith("//") else path)
        raise BackupError(f"不支持的数据库地址：{parsed.scheme}://…（支持 postgres:// 与 sqlite://）")

    @classmethod
    def from_settings(cls) -> DbTarget:
        db = settings.DATABASES["default"]
        if db["ENGINE"].endswith("postgresql"):
            return cls("postgresql", db["NAME"], db.get("HOST") or "", str(db.get("PORT") or ""), db.get("USER") or "",
                       db.get("PASSWORD") or "")
        return cls("sqlite", str(db["NAME"]))

    def pg_args(self) -> list[str]:
        args = []
        if self.host:
            args += ["--host", self.host]
        if self.port:
            args += ["--port", self.port]
        if self.user:
            args += ["--username", self.user]
        return args

    def pg_env(self) -> dict[str, str]:
        # The password goes through the environment, never on the command line (ps shows that).
        env = dict(os.environ)
        if self.password:
            env["PGPASSWORD"] = self.password
        return env

    def pg_connect(self, dbname: str | None = None):
        import psycopg

        return psycopg.connect(
            dbname=dbname or self.name, host=self.host or None, port=self.port or None,
            user=self.user or None, password=self.password or None,
        )


def _run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    binary = shutil.which(cmd[0])
    if binary is None:
        raise BackupError(f"找不到 {cmd[0]}：请安装与数据库同版本的 PostgreSQL 客户端工具。")
    done = subprocess.run([binary, *cmd[1:]], env=env, capture_output=True, text=True, check=False)  # nosec B603  # fixed binary, no shell
    if done.returncode != 0:
        raise BackupError(f"{cmd[0]} 失败（退出码 {done.returncode}）：{done.stderr.strip()[:2000]}")


# ---------------------------------------------------------------- backup


@dataclass
class BackupResult:
    path: Path
    manifest: dict[str, Any]


def _dump_postgresql(target: DbTarget, out: Path) -> dict[str, dict[str, Any]]:
    import psycopg

    with target.pg_connect() as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction():
            snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
            tables = fingerprint(conn, "postgresql")
            # The snapshot lives while this transaction is open: pg_dump sees the same data.
            _run(["pg_dump", "--format=custom", "--no-owner", f"--snapshot={snapshot}", f"--file={out}",
                  *target.pg_args(), target.name], env=target.pg_env())
    return tables


def _dump_sqlite(out: Path) -> dict[str, dict[str, Any]]:
    connection.ensure_connection()
    dest = sqlite3.connect(out)
    try:
        connection.connection.backup(dest)
    finally:
        dest.close()
    copy = sqlite3.connect(out)
    try:
        return fingerprint(copy, "sqlite")
    finally:
        copy.close()


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(timezone.now().timestamp())
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def backup_create(*, output: Path | None = None, media_root: Path | None = None, actor_label: str = "") -> BackupResult:
    """Write the archive (database, media, manifest) and return its path and manifest."""
    from cityops.audit.models import AuditAction
    from cityops.audit.services import audit_record

    target = DbTarget.from_settings()
    media = Path(media_root or settings.MEDIA_ROOT)
    now = timezone.now()
    output = Path(output or Path.cwd() / f"cityops-backup-{timezone.localtime(now):%Y%m%d-%H%M%S}.tar.gz")
    # Recorded first, so the backup holds its own record (a backup is an export of everything).
    audit_record(action=AuditAction.BACKUP, actor_label=actor_label or "系统", target=f"backup:{output.name}",
                 details={"engine": target.vendor, "media_root": str(media)})
    with tempfile.TemporaryDirectory(prefix="cityops-backup-") as tmp:
        dump = Path(tmp) / (PG_DUMP if target.vendor == "postgresql" else SQLITE_DUMP)
        tables = _dump_postgresql(target, dump) if target.vendor == "postgresql" else _dump_sqlite(dump)
        files: dict[str, dict[str, Any]] = {dump.name: {"sha256": _sha256_file(dump), "size": dump.stat().st_size}}
        media_files = list(_media_files(media))
        for path in media_files:
            files[f"{MEDIA_DIR}/{path.relative_to(media).as_posix()}"] = {"sha256": _sha256_file(path), "size": path.stat().st_size}
        manifest = {
            "format": FORMAT_VERSION, "app": "cityops", "app_version": _app_version(),
            "created_at": now.isoformat(), "engine": target.vendor, "database": dump.name,
            "tables": tables, "files": files,
        }
        output.parent.mkdir(parents=True, exist_ok=True)
        partial = output.with_name(output.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            _add_bytes(tar, MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8"))
            tar.add(dump, arcname=dump.name, recursive=False)
            for path in media_files:
                tar.add(path, arcname=f"{MEDIA_DIR}/{path.relative_to(media).as_posix()}", recursive=False)
        os.chmod(partial, 0o600)  # the archive holds personal data
        partial.replace(output)
    return BackupResult(output, manifest)


# ---------------------------------------------------------------- verify


def _read_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = tar.getmember(MANIFEST)
        data = tar.extractfile(member)
        manifest = json.loads(data.read().decode("utf-8")) if data else None
    except (KeyError, ValueError, UnicodeDecodeError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("app") != "cityops" or not isinstance(manifest.get("files"), dict):
        raise BackupError("备份文件缺少有效的 manifest.json，不是 cityops 备份或已损坏。")
    return manifest


def backup_verify(path: Path) -> tuple[VerifyReport, dict[str, Any]]:
    """Check the archive alone: every member listed in the manifest, none extra, hashes equal."""
    report = VerifyReport()
    try:
        with tarfile.open(path, "r:gz") as tar:
            manifest = _read_manifest(tar)
            expected: dict[str, dict[str, Any]] = manifest["files"]
            seen: set[str] = set()
            for member in tar:
                if member.name == MANIFEST:
                    continue
                if not member.isfile():
                    report.problems.append(f"不应出现的条目：{member.name}")
                    continue
                seen.add(member.name)
                if member.name not in expected:
                    report.problems.append(f"清单中没有的文件：{member.name}")
                    continue
                digest = hashlib.sha256()
                fh = tar.extractfile(member)
                for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                    digest.update(block)
                report.checked_files += 1
                if digest.hexdigest() != expected[member.name]["sha256"]:
                    report.problems.append(f"文件校验和不符（已被修改或损坏）：{member.name}")
            for name in sorted(set(expected) - seen):
                report.problems.append(f"缺少文件：{name}")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"无法读取备份文件 {path}：{exc}") from None
    return report, manifest


# ---------------------------------------------------------------- restore


def _pg_is_empty(target: DbTarget) -> bool:
    with target.pg_connect() as conn:
        row = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
    return row[0] == 0


def _pg_wipe(target: DbTarget) -> None:
    with target.pg_connect() as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


def _sqlite_is_empty(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return True
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0] == 0
    finally:
        conn.close()


def _compare_tables(expected: dict[str, dict[str, Any]], actual: dict[str, dict[str, Any]], report: VerifyReport) -> None:
    for name in sorted(set(expected) | set(actual)):
        want, got = expected.get(name), actual.get(name)
        if want is None:
            report.problems.append(f"恢复后多出数据表：{name}")
        elif got is None:
            report.problems.append(f"恢复后缺少数据表：{name}")
        elif want["rows"] != got["rows"]:
            report.problems.append(f"{name}：行数 {got['rows']}，备份时 {want['rows']}")
        elif want["sha256"] != got["sha256"]:
            report.problems.append(f"{name}：行数相同但内容校验和不符")
        report.checked_tables += 1


def _safe_members(tar: tarfile.TarFile, names: Iterable[str]) -> list[tarfile.TarInfo]:
    wanted = set(names)
    return [m for m in tar.getmembers() if m.name in wanted and m.isfile()]


def backup_restore(
    path: Path, *, database_url: str | None = None, media_root: Path | None = None, force: bool = False,
) -> VerifyReport:
    """Restore the archive into the target database and media directory, then compare with the manifest.

    Refuses (BackupError) a damaged archive, an archive of the other engine, or a target
    database / media directory that already holds data unless `force` (which wipes them).
    Returns the comparison report: `ok` only if every table's rows and checksum and every
    media file's hash match.
    """
    archive_report, manifest = backup_verify(path)
    if not archive_report.ok:
        raise BackupError("备份文件校验失败，未做任何恢复：\n" + "\n".join(archive_report.problems))
    target = DbTarget.from_url(database_url) if database_url else DbTarget.from_settings()
    if manifest.get("engine") != target.vendor:
        raise BackupError(f"备份来自 {manifest.get('engine')}，目标数据库是 {target.vendor}，不能直接恢复。")
    media = Path(media_root or settings.MEDIA_ROOT)
    db_empty = _pg_is_empty(target) if target.vendor == "postgresql" else _sqlite_is_empty(Path(target.name))
    media_empty = not any(media.iterdir()) if media.exists() else True
    if not force and not (db_empty and media_empty):
        where = "、".join(w for w, empty in (("目标数据库", db_empty), (f"媒体目录 {media}", media_empty)) if not empty)
        raise BackupError(f"{where}不是空的：为防止覆盖现有数据，恢复已拒绝（确认覆盖请加 --force）。")

    report = VerifyReport()
    media_names = [n for n in manifest["files"] if n.startswith(f"{MEDIA_DIR}/")]
    with tempfile.TemporaryDirectory(prefix="cityops-restore-") as tmp, tarfile.open(path, "r:gz") as tar:
        dump_name = manifest["database"]
        tar.extractall(tmp, members=_safe_members(tar, [dump_name]), filter="data")
        dump = Path(tmp) / dump_name
        if target.vendor == "postgresql":
            if not db_empty:
                _pg_wipe(target)
            _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", f"--dbname={target.name}",
                  *target.pg_args(), str(dump)], env=target.pg_env())
            with target.pg_connect() as conn:
                actual = fingerprint(conn, "postgresql")
        else:
            db_path = Path(target.name)
            db_path.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("-wal", "-shm"):
                Path(str(db_path) + suffix).unlink(missing_ok=True)
            shutil.copyfile(dump, db_path)
            conn = sqlite3.connect(db_path)
            try:
                actual = fingerprint(conn, "sqlite")
            finally:
                conn.close()
        _compare_tables(manifest["tables"], actual, report)

        if media.exists() and not media_empty:
            shutil.rmtree(media)
        media.mkdir(parents=True, exist_ok=True)
        staging = Path(tmp) / "m"
        tar.extractall(staging, members=_safe_members(tar, media_names), filter="data")
        for name in media_names:
            source = staging / name
            dest = media / name[len(MEDIA_DIR) + 1:]
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(source, dest)
            report.checked_files += 1
            if _sha256_file(dest) != manifest["files"][name]["sha256"]:
                report.problems.append(f"媒体文件恢复后校验和不符：{name}")
    return report
