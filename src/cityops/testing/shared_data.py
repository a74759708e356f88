"""The shared data folder beside the repository (public complaint texts, the hotline taxonomy,
the raw district geometry): `settings.CITYOPS_SHARED_DATA_DIR`, default `../shared/data`,
set from the environment. It is not shipped; tests and benchmarks that read it go through here,
and a test whose file is absent is skipped with a message that names the setting."""

from __future__ import annotations

from pathlib import Path

SETTING = "CITYOPS_SHARED_DATA_DIR"


def shared_data_dir() -> Path:
    """The folder (Django settings must be configured)."""
    from django.conf import settings

    return Path(settings.CITYOPS_SHARED_DATA_DIR)


def shared_path(*parts: str) -> Path:
    """A path inside the folder, whether or not it exists (for a benchmark's default argument)."""
    return shared_data_dir().joinpath(*parts)


def absent_message(path: Path) -> str:
    return (f"{path} is absent: the shared data folder is not available here "
            f"(set {SETTING}; default ../shared/data beside the repository)")


def require_shared(*parts: str) -> Path:
    """The file or folder at `parts` inside the shared data folder; skips the calling test when absent."""
    import pytest

    path = shared_path(*parts)
    if not path.exists():
        pytest.skip(absent_message(path))
    return path


def needs_shared(*parts: str):
    """A `skipif` mark for tests that read `parts` inside the shared data folder."""
    import pytest

    path = shared_path(*parts)
    return pytest.mark.skipif(not path.exists(), reason=absent_message(path))
