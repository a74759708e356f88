#!/usr/bin/env bash
# Prepare .venv with the locked dependencies: uv if present, else install uv with pip,
# else a plain venv + pip from the exported lock file.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"

if ! command -v uv >/dev/null 2>&1; then
    echo "uv not found: installing it with pip" >&2
    "$PYTHON" -m pip install --quiet --user uv >/dev/null 2>&1 || "$PYTHON" -m pip install --quiet uv >/dev/null 2>&1 || true
    export PATH="$HOME/.local/bin:$PATH"
fi

if command -v uv >/dev/null 2>&1; then
    uv sync --frozen --python "$PYTHON"
else
    echo "uv unavailable: falling back to venv + pip with requirements.lock" >&2
    [ -d .venv ] || "$PYTHON" -m venv .venv
    .venv/bin/pip install --quiet -r requirements.lock
    .venv/bin/pip install --quiet --no-deps -e .
fi
