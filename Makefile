# Commands for a fresh clone where only python3 is installed:
#   make run    open the window with the default example
#   make lint   ruff: the lint rules and the format (pyproject.toml)
#   make test   the lint check, then the whole test suite
# Each creates (or reuses) .venv and installs the project into it.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run lint test clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/mtl-studio

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The suite's processes (pytest-xdist): 2 halves its time on a 2-core
# machine; TEST_WORKERS=0 runs it in this one process.
TEST_WORKERS ?= 2

test: lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist worksteal

clean:
	rm -rf $(VENV) build *.egg-info
