# Two commands do everything: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck pytest bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# The base install is only the offline verifier; the service needs the [server] extra.
$(VENV)/.installed-server: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[server]'
	touch $@

$(VENV)/.installed-server-test: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[server,test]'
	touch $@ $(VENV)/.installed-server

run: $(VENV)/.installed-server
	$(VENV)/bin/custody serve --host $(HOST) --port $(PORT)

lint: $(VENV)/.installed-server-test
	$(VENV)/bin/ruff check custody storage api cli tests bench
	$(VENV)/bin/ruff format --check custody storage api cli tests bench

typecheck: $(VENV)/.installed-server-test
	$(VENV)/bin/mypy

pytest: $(VENV)/.installed-server-test
	$(PY) -m pytest -p no:cacheprovider $(PYTEST_ARGS)

test: lint typecheck pytest

bench: $(VENV)/.installed-server-test
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .hypothesis
