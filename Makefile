# Front doors: `make demo`, `make test`, `make bench`. Each does its whole set-up: the machine
# (scripts/setup_host) and the virtualenv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
MANAGE := $(BIN)/python example_project/manage.py

.PHONY: demo test lint bench clean host

# The machine's own set-up (scripts/setup_host): Debian packages installed where missing,
# PostgreSQL and Redis started if down. Each front door says how much it needs; its
# prerequisites inherit that (a target-specific variable), so `make test` does it all and
# `make demo` (SQLite only) never needs PostgreSQL.
SETUP_NEEDS := demo
test bench: SETUP_NEEDS := test

host:
	@PYTHON=$(PYTHON) scripts/setup_host $(SETUP_NEEDS)

$(STAMP): pyproject.toml | host
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

# The demo encrypts to a key of its own, made on first run in example_project/var/.
DEMO_KEY := example_project/var/demo-age-identity.txt
DEMO_ENV := NZILA_OPS_AGE_RECIPIENTS=$$($(BIN)/python example_project/demo_key.py $(DEMO_KEY)) \
	NZILA_OPS_AGE_IDENTITY_FILE=$(DEMO_KEY)
DEMO := $(DEMO_ENV) $(MANAGE)

demo: $(STAMP)
	@echo "== example project on SQLite (example_project/db.sqlite3), backups in example_project/var/backups"
	@$(DEMO) migrate --no-input -v 0
	@$(DEMO) collectstatic --no-input -v 0
	@$(DEMO) seed_demo --vehicles 2000
	@echo "== backup_database: SQLite online backup -> zstd -> age -> SHA-256 -> local storage"
	@$(DEMO) backup_database --type manual
	@echo "== list_backups (read from the manifests in storage)"
	@$(DEMO) list_backups
	@echo "== verify_backup --latest (checksum, age authentication, zstd, SQLite header)"
	@$(DEMO) verify_backup --latest
	@echo "== restore_database into a separate file (--target), then a DR drill"
	@rm -f example_project/var/restored-demo.sqlite3
	@$(DEMO) restore_database --latest --no-input --target example_project/var/restored-demo.sqlite3
	@$(DEMO) run_dr_drill
	@echo "== setup_schedules --dry-run (the Celery beat entries it would install)"
	@$(DEMO) setup_schedules --dry-run
	@echo "== enforce_retention --dry-run (grandfather-father-son)"
	@$(DEMO) enforce_retention --dry-run
	@echo "== check_health (the checks that need no Celery worker or WebSocket server here)"
	@$(DEMO) check_health database cache backup_storage backup_freshness disk auth_api payments_api
	@# From a terminal: gunicorn and a Celery worker until Ctrl-C (scripts/demo_serve says how).
	@$(DEMO_ENV) $(BIN)/python scripts/demo_serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: host lint
	$(BIN)/python -m pytest

bench: host $(STAMP)
	$(BIN)/python bench/bench_backup.py
	$(BIN)/python bench/bench_restore.py
	$(BIN)/python bench/bench_health.py
	$(BIN)/python bench/bench_webhooks.py
	$(BIN)/python bench/bench_metrics.py
	$(BIN)/python bench/bench_status.py
	$(BIN)/python bench/bench_sla.py
	$(BIN)/python bench/bench_copy.py

clean:
	rm -rf $(VENV) example_project/var example_project/db.sqlite3 .pytest_cache .ruff_cache
