#!/usr/bin/env bash
# Prepare .venv with the locked dependencies: uv if present, else install uv with pip,
# else a plain venv + pip from the exported lock files.
#   scripts/install.sh runtime   what the server and the commands need (`make run`)
#   scripts/install.sh dev       that plus the test, lint and audit tools (`make test`, CI)
# Runtime never removes tools a dev install put there (uv --inexact), so `make run` and
# `make test` can alternate without reinstalling each other's packages.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
MODE="${1:-dev}"
case "$MODE" in
    runtime) UV_GROUPS=(--no-dev --inexact); LOCK=requirements-runtime.lock ;;
    dev) UV_GROUPS=(); LOCK=requirements.lock ;;
    *) echo "usage: $0 runtime|dev" >&2; exit 2 ;;
esac
export PATH="$HOME/.local/bin:$PATH"

if ! command -v uv >/dev/null 2>&1; then
    echo "uv not found: installing it with pip" >&2
    "$PYTHON" -m pip install --quiet --user uv >/dev/null 2>&1 || "$PYTHON" -m pip install --quiet uv >/dev/null 2>&1 || true
fi

if command -v uv >/dev/null 2>&1; then
    uv sync --frozen --python "$PYTHON" ${UV_GROUPS[@]+"${UV_GROUPS[@]}"}
else
    echo "uv unavailable: falling back to venv + pip with $LOCK" >&2
    [ -d .venv ] || "$PYTHON" -m venv .venv
    .venv/bin/pip install --quiet -r "$LOCK"
    .venv/bin/pip install --quiet --no-deps -e .
fi
