"""Steps of `cityops demo`, in order. Apps that bring demo data append their command here.

A second `make run` must start in seconds, so `cityops demo` skips everything when the database
already holds this demo: a marker row (`JobRun` "demo") keeps a fingerprint of what the demo is
made of — every app's data/ folder and demo.py, the step commands — and the demo accounts must
still accept the demo password. Any change there (a pull that brings new categories, another
CITYOPS_DEMO_PASSWORD, an emptied database) loads the demo again; `cityops demo --force` always does.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.utils import timezone

DEMO_STEPS: list[tuple[str, str]] = [
    ("行政区划（城东区街道、社区）", "geo_load"),
    ("分类、部门、权责清单、节假日", "catalog_load"),
    ("演示网格（合成数据）", "geo_demo"),
    ("绩效目标与考核权重方案", "assessment_load_targets"),
    ("接入映射示例（市平台分类、地址、报警类型）", "api_demo_mappings"),
]
# The commands `cityops demo` runs after the accounts (demo cases, their history, the model).
DEMO_LATER_COMMANDS = ["demo_cases"]

MARKER_JOB = "demo"
SRC_DIR = Path(__file__).resolve().parents[1]


def _fingerprint_files() -> list[Path]:
    files = [path for path in SRC_DIR.glob("*/data/**/*") if path.is_file()]
    files += SRC_DIR.glob("*/demo*.py")  # demo.py and the demo history generators beside it
    commands = {command for _, command in DEMO_STEPS} | set(DEMO_LATER_COMMANDS) | {"demo"}
    files += [path for path in SRC_DIR.glob("*/management/commands/*.py") if path.stem in commands]
    return sorted(set(files))


def demo_fingerprint() -> str:
    """What the demo is made of: the content of its data files and of the code that loads it."""
    digest = hashlib.sha256()
    for path in _fingerprint_files():
        digest.update(str(path.relative_to(SRC_DIR)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def demo_loaded(password: str | None) -> bool:
    """True if this database already holds the demo of this fingerprint, with this password.

    A handful of indexed queries and one password check: the fast path of every `make run`."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import check_password

    from cityops.ops.models import JobRun

    marker = JobRun.objects.filter(name=MARKER_JOB).values_list("last_result", flat=True).first()
    if not marker or marker.get("fingerprint") != demo_fingerprint():
        return False
    if password is None:
        return True
    encoded = get_user_model().objects.filter(username="operator", is_active=True).values_list("password", flat=True).first()
    return bool(encoded) and check_password(password, encoded)


def demo_mark_loaded() -> None:
    """Record that the whole demo loaded (called last, so a failed load is retried next time)."""
    from cityops.ops.models import JobRun

    now = timezone.now()
    JobRun.objects.update_or_create(
        name=MARKER_JOB,
        defaults={"last_started_at": now, "last_finished_at": now, "last_ok_at": now, "last_status": "ok",
                  "last_result": {"fingerprint": demo_fingerprint()}},
    )
