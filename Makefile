# riskmart: `make pipeline` and `make test` are the quick start; everything else is a convenience.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
RISKMART := $(BIN)/riskmart
STAMP := $(VENV)/.installed
PIP_QUIET := --quiet --disable-pip-version-check --no-warn-script-location

# Size of the demo export `make pipeline` writes when the landing folder is empty.
DEMO_CLIENTS ?= 2000
DEMO_MONTHS ?= 12
# Where the demo writes its ground truth; `make pipeline` compares the model with it when it is there.
DEMO_TRUTH ?= data/truth

.PHONY: install browser pipeline test soak lint format bench serve dashboard clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# uv (from PyPI, into the venv) installs what pip would from the same index: ~25 s here where pip took
	@# 3.5 min; --native-tls: the system's certificates, as pip uses
	@$(BIN)/python -m pip install $(PIP_QUIET) 'uv>=0.5' 2>&1 | grep -v "is ignored" || true
	@# --compile-bytecode: uv writes no .pyc by default, and where PYTHONDONTWRITEBYTECODE is set (as in these
	@# sessions) every Python process compiled its imports anew: ~6 s CPU of each test worker, CLI and
	@# `riskmart serve` start (xgboost, sklearn, pandas), for ~85 s CPU once here
	@$(BIN)/python -m uv pip install --quiet --native-tls --compile-bytecode --python $(BIN)/python -e '.[dev,semantic,bigquery]'
	@$(BIN)/python -c "import riskmart, contract, ingest, demo, ml, api, dbt.adapters.duckdb, great_expectations, xgboost, fastapi, streamlit, plotly, metricflow, bqemulator, sqlglot" \
		|| { echo "install failed: see pip output above"; exit 1; }
	@touch $(STAMP)

install: $(STAMP)

# The dashboard's end-to-end test drives Debian's chromium (playwright never downloads a browser here).
CHROMIUM := /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }
	@test -x $(CHROMIUM) || { echo "chromium is not installed at $(CHROMIUM): apt-get install chromium"; exit 1; }

pipeline: $(STAMP)
	$(RISKMART) demo-data --skip-if-present --truth $(DEMO_TRUTH) --clients $(DEMO_CLIENTS) --months $(DEMO_MONTHS)
	if [ -e $(DEMO_TRUTH) ]; then export RISKMART_TRUTH=$(DEMO_TRUTH); fi; $(RISKMART) run

# Two workers (the machines have two cores), each taking whole test files so that a file's fixtures are built
# once, longest files first (conftest.py's LONGEST_FIRST); the slowest tests are listed at the end to keep the
# suite inside its 15 minutes. `make lint` runs beside the tests instead of before them (its `dbt seed` and
# sqlfluff's compile of the project use one core while the other waited); its output follows the tests', and
# `make test` fails if either fails.
PYTEST_WORKERS ?= 2
# extra pytest arguments, e.g. PYTEST_ARGS="bundle/tests" to run one folder the way the suite runs
PYTEST_ARGS ?=
test: $(STAMP) browser
	@lint_log=$$(mktemp); \
	{ $(MAKE) --no-print-directory lint >$$lint_log 2>&1; echo $$? >$$lint_log.status; } & \
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=20 $(PYTEST_ARGS); \
	tests=$$?; wait; linted=$$(cat $$lint_log.status); \
	echo "== make lint (ran beside the tests), exit $$linted"; cat $$lint_log; rm -f $$lint_log $$lint_log.status; \
	[ $$tests = 0 ] && [ $$linted = 0 ]

# `riskmart backfill` over 60 daily exports, SIGKILLed at a random point (seed printed) on a third of the days
# and resumed, against a clean backfill (riskmart/tests/soak.py; the suite runs a two-day one). SOAK_ARGS
# passes options, e.g. SOAK_ARGS="--seed 7 --days 20".
soak: $(STAMP)
	$(BIN)/python -m riskmart.tests.soak $(SOAK_ARGS)

# sqlfluff's dbt templater compiles the project against a warehouse: a scratch one holding the seeds (the rule
# and score models read the seed rule_score_components when they compile).
LINT_PROCESSES ?= 2
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	lint_dir=$$(mktemp -d) && export RISKMART_WAREHOUSE=$$lint_dir/lint.duckdb \
		&& $(BIN)/dbt seed --quiet --project-dir . --profiles-dir profiles \
			--target-path $$lint_dir/target --log-path $$lint_dir/logs \
		&& $(BIN)/sqlfluff lint models tests --processes $(LINT_PROCESSES) && rm -rf $$lint_dir

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m bench

serve: $(STAMP)
	$(RISKMART) serve

dashboard: $(STAMP)
	$(RISKMART) dashboard

clean:
	rm -rf target logs .pytest_cache .ruff_cache
