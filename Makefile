# 党建质量看板 — `make run` starts the app with demo data, `make test` runs every test.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 8501
PYTHON ?= python3

.PHONY: run dev test test-fast test-long lint format bench demo clean

# constraints.txt pins the exact versions tested together (README: 依赖与升级)
$(VENV)/.installed: requirements.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -r requirements.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt constraints.txt
	$(PIP) install -q -c constraints.txt -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	$(PY) -m analytics demo --if-empty
	$(PY) -m streamlit run serve.py --server.port $(PORT) --browser.gatherUsageStats false

# Development: the app reruns when a source file is saved (make run watches nothing: .streamlit/config.toml)
dev: $(VENV)/.installed
	$(PY) -m analytics demo --if-empty
	$(PY) -m streamlit run serve.py --server.port $(PORT) --browser.gatherUsageStats false \
		--server.fileWatcherType poll --server.runOnSave true --runner.postScriptGC true

test: $(VENV)/.dev-installed
	$(PY) -m pytest -q -n 2 --durations=25

# The edit loop: everything but the slow, browser and Chromium-rendering tests
test-fast: $(VENV)/.dev-installed
	$(PY) -m pytest -q -m "not slow and not browser and not chromium"

# The long runs: every output on 200 generated stores (about 90 minutes), 20 exports of every format with both
# cores busy (about 10 minutes); not part of make test
test-long: $(VENV)/.dev-installed
	$(PY) -m pytest -q -m long tests/test_any_data.py tests/test_export_load.py

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(VENV)/.dev-installed
	$(PY) bench/ingest.py

demo: $(VENV)/.installed
	$(PY) -m analytics demo

# Removes the virtualenv only: data/*.duckdb is the live database (accounts, audit log, batches), never deleted here
clean:
	rm -rf $(VENV)
