# The two commands a new user needs: `make up` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test lint unit integration clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

up: $(STAMP)
	$(BIN)/tessera up $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy tessera frontend metadata datanode
	$(BIN)/lint-imports
	$(BIN)/python -m proto.generate --check

test: lint
	$(BIN)/python -m pytest -q -p no:cacheprovider tests

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit tests/test_tidy.py

integration: $(STAMP)
	$(BIN)/python -m pytest -q tests/integration

clean:
	rm -rf $(VENV) build *.egg-info
