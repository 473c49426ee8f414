# `make run` and `make test` are the two commands a newcomer needs (see README.md).
VENV ?= .venv
PY := $(VENV)/bin/python
# Two install stamps: `make run` needs only the package and its runtime dependencies; the
# dev extras (pytest, hypothesis, ruff, mypy, playwright, pandas, Jupyter's kernel...) are
# for `make test`, `make lint` and `make bench`, and took most of a fresh `make run`'s
# install. Installing the extras also satisfies the runtime stamp.
RUN_STAMP := $(VENV)/.installed-run-stamp
DEV_STAMP := $(VENV)/.installed-dev-stamp
PIP_INSTALL := $(PY) -m pip install --quiet --disable-pip-version-check
DEMO_ROWS ?= 50000
PORT ?= 8501
CHROMIUM ?= /usr/bin/chromium

.PHONY: install setup chromium data run test lint format bench clean

$(RUN_STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PIP_INSTALL) -e .
	@touch $(RUN_STAMP)

$(DEV_STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PIP_INSTALL) -e '.[dev]'
	@touch $(RUN_STAMP) $(DEV_STAMP)

# The package and what it needs to run (what `make run` and `make data` use).
install: $(RUN_STAMP)

# Everything for development: the package, the test tools and the benchmarks' baselines.
setup: $(DEV_STAMP)

# The browser test and benchmark drive Debian's chromium (Playwright cannot download one
# here). Installed when missing; where that is impossible the browser test skips and says so.
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
		echo "Installing Debian's chromium for the browser test…"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		( $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq chromium >/dev/null ) \
		|| echo "Could not install chromium: the browser test will be skipped."; \
	fi

# Land the data dir; a synthetic demo set first only when it holds no CSV at all (the check
# is watchbuddy's own, the one `bootstrap` uses to find files, so the two cannot disagree).
data: install
	$(VENV)/bin/watchbuddy demo-data --if-no-data --rows $(DEMO_ROWS)
	$(VENV)/bin/watchbuddy bootstrap

run: data
	@echo "Tip: the watchbuddy command is .venv/bin/watchbuddy (or run '. .venv/bin/activate' once)."
	$(VENV)/bin/watchbuddy app --port $(PORT)

test: setup chromium
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: setup chromium
	cd benchmarks && ../$(PY) bench_landing.py && ../$(PY) bench_ingest.py && ../$(PY) bench_candidates.py && ../$(PY) bench_similar.py && ../$(PY) bench_pool.py && ../$(PY) bench_exports.py && ../$(PY) bench_trend.py && ../$(PY) bench_providers.py && ../$(PY) bench_search.py && ../$(PY) bench_browser.py && ../$(PY) bench_coldstart.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
