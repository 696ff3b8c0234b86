# E3 tasks. `make demo` and `make test` are the two commands of the README.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo test check-defs ui bench clean-venv

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,asr]'
	touch $@

## install: a virtualenv in .venv with E3 and its test tools
install: $(VENV)/.installed

## demo: set up on embedded defaults (SQLite, Piper, built-in painter) and run `e3 demo`
demo: install
	$(BIN)/e3 demo

## test: validate the Dagster definitions, then run the whole test suite
test: install check-defs
	$(BIN)/python -m pytest -q -p no:cacheprovider

check-defs: install
	$(BIN)/dagster definitions validate -m e3_assets.definitions

## ui: the Dagster UI on http://127.0.0.1:3000
ui: install
	DAGSTER_HOME=$${DAGSTER_HOME:-$(CURDIR)/.dagster_home/$${E3_ENV:-alpha}} $(BIN)/e3 init
	DAGSTER_HOME=$${DAGSTER_HOME:-$(CURDIR)/.dagster_home/$${E3_ENV:-alpha}} $(BIN)/dagster dev -w workspace.yaml

## bench: every benchmark under bench/ (slow; prints ratios against same-run baselines)
bench: install
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

clean-venv:
	rm -rf $(VENV)
