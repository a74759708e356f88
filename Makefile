# CityOps: `make run` serves the demo on http://127.0.0.1:8000, `make test` runs the whole suite.
VENV      := .venv
CITYOPS   := $(VENV)/bin/cityops
PORT      ?= 8000
STAMP     := $(VENV)/.installed

.PHONY: install run test lint audit lock demo run-prod

install: $(STAMP)

$(STAMP): pyproject.toml uv.lock scripts/install.sh
	@bash scripts/install.sh
	@touch $(STAMP)

run: install
	$(CITYOPS) migrate --noinput
	$(CITYOPS) demo
	PORT=$(PORT) $(CITYOPS) serve

# The production stack on this machine: gunicorn + Celery worker + beat against the local
# PostgreSQL and Redis (DATABASE_URL, REDIS_URL override; see docs/deploy.md).
run-prod: install
	PORT=$(PORT) $(VENV)/bin/python -m cityops.ops.run_prod

test: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .

# Known vulnerabilities in the locked dependencies (pip-audit; packages it could not check are
# reported, and fail only with AUDIT_REQUIRE_DB=1, see scripts/audit_deps.py), then bandit:
# no high-severity finding in src/ (config in pyproject.toml).
audit: install
	$(VENV)/bin/python scripts/audit_deps.py requirements.lock
	$(VENV)/bin/bandit -c pyproject.toml -r src -lll -q

# Refresh uv.lock and the pip fallback's requirements.lock after editing pyproject.toml.
lock:
	uv lock
	uv export --frozen --no-hashes --no-emit-project --all-groups > requirements.lock
