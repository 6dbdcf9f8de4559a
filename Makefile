# rasa-handover: `make help` lists the targets.
# Everything runs inside .venv (Python 3.10, which Rasa 3.6 needs); the first
# target that needs it creates it and installs the package with its extras.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.10: one that runs from PATH (a pyenv shim may exist without working),
# else any installed under pyenv.
PYTHON_310 ?= $(firstword \
	$(shell python3.10 -c 'import sys; print(sys.executable)' 2>/dev/null) \
	$(wildcard $(shell pyenv root 2>/dev/null)/versions/3.10.*/bin/python3.10) \
	$(wildcard $(HOME)/.pyenv/versions/3.10.*/bin/python3.10))
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
INSTALLED := $(VENV)/.installed

BOT := example_bot
BOT_MODEL := $(BOT)/models/example_bot.tar.gz
BOT_SOURCES := $(BOT)/config.yml $(wildcard $(BOT)/domain/*.yml) $(wildcard $(BOT)/data/*.yml)
PACKAGE_SOURCES := $(shell find rasa_handover -name '*.py' -o -name '*.txt' -o -name '*.yml')
# Rasa's progress bars go to these files; the targets print their tails.
LOGS := .logs

.PHONY: help venv demo test unit lint typecheck validate train test-stories clean

help: ## Show this help.
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml
	@if [ -z "$(PYTHON_310)" ]; then \
		echo "Python 3.10 not found (Rasa 3.6 needs Python <= 3.10)."; \
		echo "Install it (e.g. 'pyenv install 3.10') or run 'make PYTHON_310=/path/to/python3.10'."; \
		exit 1; fi
	@test -x $(PY) || $(PYTHON_310) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

venv: $(INSTALLED) ## Create .venv (Python 3.10) and install the package with its test/dev extras.

$(BOT_MODEL): $(INSTALLED) $(BOT_SOURCES) $(PACKAGE_SOURCES)
	@mkdir -p $(LOGS)
	@echo "Training the example bot (log: $(LOGS)/train.log) ..."
	@cd $(BOT) && ../$(BIN)/rasa train --domain domain --fixed-model-name example_bot \
		--out models > ../$(LOGS)/train.log 2>&1 || { tail -40 ../$(LOGS)/train.log; exit 1; }
	@tail -3 $(LOGS)/train.log

train: $(BOT_MODEL) ## Train the example bot if its model is missing or stale.

demo: train ## Start the example bot, its action server and the inbox (Ctrl-C stops).
	$(PY) $(BOT)/demo.py

lint: $(INSTALLED) ## ruff on the package, tests and benchmarks.
	$(BIN)/ruff check rasa_handover tests benchmarks example_bot
	$(BIN)/ruff format --check rasa_handover

typecheck: $(INSTALLED) ## mypy on the package.
	$(BIN)/mypy rasa_handover

# pytest-xdist workers for `make unit`. Each test module stays in one worker,
# and so does each `xdist_group` (modules that share session-scoped servers; see
# tests/conftest.py). Modules run in collection order, so the slow ones under
# tests/browser and tests/e2e start first rather than last.
PYTEST_WORKERS ?= 2

unit: $(BOT_MODEL) ## Run the pytest suite (unit, graph, integration and end-to-end tests).
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadgroup --no-loadscope-reorder \
		--durations=15

validate: $(INSTALLED) ## rasa data validate on the example bot.
	@mkdir -p $(LOGS)
	@cd $(BOT) && ../$(BIN)/rasa data validate --domain domain > ../$(LOGS)/validate.log 2>&1 \
		|| { tail -40 ../$(LOGS)/validate.log; exit 1; }
	@echo "rasa data validate: OK"

test-stories: $(BOT_MODEL) ## rasa test core on the example bot's test stories.
	@mkdir -p $(LOGS)
	@cd $(BOT) && ../$(BIN)/rasa test core --model models/example_bot.tar.gz \
		--stories tests/test_stories.yml --out results --fail-on-prediction-errors \
		> ../$(LOGS)/test-stories.log 2>&1 \
		|| { tail -60 ../$(LOGS)/test-stories.log; exit 1; }
	@grep -E "Correct:|Accuracy:" $(LOGS)/test-stories.log | head -4 || true
	@echo "rasa test core: every test story passed"

test: lint typecheck unit validate test-stories ## Everything CI runs.

bench: $(BOT_MODEL) ## Run the benchmarks (not part of `make test`); JSON in benchmarks/results/.
	$(PY) benchmarks/bench_policy.py
	$(PY) benchmarks/bench_signals.py
	$(PY) benchmarks/bench_overhead.py
	$(PY) benchmarks/bench_handover_latency.py
	$(PY) benchmarks/bench_inbox_throughput.py
	$(PY) benchmarks/bench_labelled.py
	$(PY) benchmarks/bench_clinc_floor.py
	$(PY) benchmarks/bench_goemotions.py

clean: ## Remove the venv, models, logs and caches.
	rm -rf $(VENV) $(BOT)/models $(BOT)/results $(LOGS) .pytest_cache .mypy_cache .ruff_cache
