# CityOps: `make run` serves the demo on http://127.0.0.1:8000, `make test` runs the whole suite.
VENV      := .venv
CITYOPS   := $(VENV)/bin/cityops
PORT      ?= 8000
# What the server needs (`make run`), and that plus the test, lint and audit tools (`make test`, CI).
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP     := $(VENV)/.installed-dev

.PHONY: install install-runtime run test lint audit lock demo run-prod settings-doc graph

install: $(DEV_STAMP)

install-runtime: $(RUNTIME_STAMP)

$(RUNTIME_STAMP): pyproject.toml uv.lock requirements-runtime.lock scripts/install.sh
	@bash scripts/install.sh runtime
	@touch $(RUNTIME_STAMP)

# The dev install holds the runtime one too.
$(DEV_STAMP): pyproject.toml uv.lock requirements.lock scripts/install.sh
	@bash scripts/install.sh dev
	@touch $(DEV_STAMP) $(RUNTIME_STAMP)

# `cityops run`: migrate, load the demo (skipped in a second when already loaded, see
# cityops.web.demo) and serve, in one process.
run: install-runtime
	PORT=$(PORT) $(CITYOPS) run

# The production stack on this machine: gunicorn + Celery worker + beat against the local
# PostgreSQL and Redis (DATABASE_URL, REDIS_URL override; see docs/deploy.md).
run-prod: install-runtime
	PORT=$(PORT) $(VENV)/bin/python -m cityops.ops.run_prod

test: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# docs/deploy.md "All settings" from config/settings/environment.py (a test fails while it is stale).
settings-doc: install-runtime
	$(CITYOPS) settings_doc

# ruff, then the architecture contracts (import-linter, [tool.importlinter] in pyproject.toml:
# layers and forbidden imports, function-local imports included; docs/architecture.md), then
# mypy with django-stubs on the apps listed in [tool.mypy].
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy

# The app dependency picture in docs/architecture.md, generated from the imports in src/cityops.
graph:
	$(VENV)/bin/python scripts/deps_graph.py

# Known vulnerabilities in the locked dependencies (pip-audit), then bandit: no high-severity
# finding in src/ (config in pyproject.toml). Packages pip-audit could not check (no
# vulnerability database reachable: "0 of N audited") fail the audit unless the explicit
# offline waiver AUDIT_OFFLINE_OK=1 is set, which is then printed; see scripts/audit_deps.py.
audit: install
	$(VENV)/bin/python scripts/audit_deps.py requirements.lock
	$(VENV)/bin/bandit -c pyproject.toml -r src -lll -q

# Refresh uv.lock and the pip fallback's lock files after editing pyproject.toml.
lock:
	uv lock
	uv export --frozen --no-hashes --no-emit-project --all-groups > requirements.lock
	uv export --frozen --no-hashes --no-emit-project --no-dev > requirements-runtime.lock
