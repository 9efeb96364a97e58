# dvcall developer entry points. `make install` builds a local .venv; everything else uses it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install test lint bench-core testdata model clean

$(BIN)/dvcall: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/dvcall

test: install
	$(BIN)/python -m pytest tests

lint: install
	$(BIN)/ruff check src tests bench scripts

bench-core: install
	$(BIN)/python bench/core.py

# Regenerate testdata/ and the packaged default model (need bwa, art_illumina; dwgsim for model).
testdata: install
	PATH=$(abspath $(BIN)):$$PATH bash testdata/make_testdata.sh

model: install
	PATH=$(abspath $(BIN)):$$PATH bash scripts/make_default_model.sh

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
