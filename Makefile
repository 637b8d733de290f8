# Two commands matter: `make run` (serve Vigil on http://127.0.0.1:8000) and `make test`.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
SYSTEM_PACKAGES := chromium prometheus prometheus-alertmanager wrk
export VIGIL_CONFIG ?=

.PHONY: run test deps system-deps node-deps lint bench

run: deps  ## Install, migrate ./data/vigil.db, bootstrap the admin, serve on 127.0.0.1:8000
	mkdir -p data
	$(UV) run --frozen vigil serve

test: deps system-deps node-deps  ## Run the whole suite on SQLite and PostgreSQL
	$(UV) run --frozen pytest

lint: deps
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy app

bench: deps system-deps  ## Run every benchmark; each rewrites its section of docs/performance.md, then the summary
	$(UV) run --frozen python -m bench.servers
	$(UV) run --frozen python -m bench.overhead
	$(UV) run --frozen python -m bench.rum_ingest
	$(UV) run --frozen python -m bench.vitals_page
	$(UV) run --frozen python -m bench.alerts
	$(UV) run --frozen python -m bench.retention
	$(UV) run --frozen python -m bench.pings
	$(UV) run --frozen python -m bench.pages
	$(UV) run --frozen python -m bench.soak  # 10 minutes of mixed load: RSS, fds, connections
	$(UV) run --frozen python -m bench.summary  # the goal / result / command table at the top

deps:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 \
		|| python3 -m pip install --quiet uv
	$(UV) sync --frozen --quiet

# Debian packages the tests drive for real: Chromium, Prometheus, Alertmanager, wrk.
system-deps:
	@missing=""; for bin in chromium prometheus prometheus-alertmanager wrk; do \
		command -v $$bin >/dev/null 2>&1 || missing="$$missing $$bin"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing Debian packages:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES) >/dev/null; \
		else echo "missing:$$missing (run as root or install: apt-get install $(SYSTEM_PACKAGES))"; fi; \
	fi

node-deps:
	@if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; fi
