# dvcall developer entry points. `make install` builds a local .venv; everything else uses it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install dev test lint bench-core testdata model clean

# install: what dvcall needs to run; dev: also the test and lint tools (make test / make lint)
$(BIN)/dvcall: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(BIN)/pytest: $(BIN)/dvcall
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/dvcall

dev: $(BIN)/pytest

test: dev
	$(BIN)/python -m pytest tests

lint: dev
	$(BIN)/ruff check src tests bench scripts

bench-core: install
	$(BIN)/python bench/core.py

# Regenerate testdata/ and the packaged default model (need bwa, art_illumina; dwgsim for model).
testdata: install
	PATH=$(abspath $(BIN)):$$PATH bash testdata/make_testdata.sh

# model: pins the libraries the recipe was last run under first (constraints-model.txt)
model: install
	$(BIN)/pip install --quiet -c constraints-model.txt -e .
	PATH=$(abspath $(BIN)):$$PATH bash scripts/make_default_model.sh

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
