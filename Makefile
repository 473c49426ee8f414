# `make run` and `make test` are the two commands a newcomer needs (see README.md).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DEMO_ROWS ?= 50000
PORT ?= 8501

.PHONY: setup run test lint format bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

run: setup
	@if ! ls data/*.csv data/*.csv.gz data/*.CSV >/dev/null 2>&1; then \
		echo "data/ holds no CSV: generating the synthetic demo dataset ($(DEMO_ROWS) rows) first."; \
		$(VENV)/bin/watchbuddy demo-data --rows $(DEMO_ROWS) --out data; \
	fi
	$(VENV)/bin/watchbuddy bootstrap
	$(VENV)/bin/watchbuddy app --port $(PORT)

test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: setup
	cd benchmarks && ../$(PY) bench_landing.py && ../$(PY) bench_ingest.py && ../$(PY) bench_candidates.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
