# Two commands a new user needs (see README): `make run` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-fast lint ui sandbox clean

$(BIN)/salesdw: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	@touch $@

run: $(BIN)/salesdw ## the main job on the embedded default: sandbox -> dlt -> DuckDB -> dbt -> checks -> summary
	$(BIN)/salesdw run $(ARGS)

# The suite runs in TEST_WORKERS processes (pytest-xdist), a test module per worker at a time (its fixtures stay
# module-scoped); TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= 2

test: $(BIN)/salesdw ## the test suite (small sandbox worlds, temporary warehouses)
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile $(ARGS)

test-fast: $(BIN)/salesdw ## the inner loop: unit tests and small-world tests, without the shared main-job build
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not slow" $(ARGS)

lint: $(BIN)/salesdw ## what CI checks before the tests: ruff (lint + format) and sqlfluff (dbt models)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint dbt_project/models dbt_project/macros dbt_project/snapshots

ui: $(BIN)/salesdw ## the Dagster UI on http://127.0.0.1:3000
	$(BIN)/salesdw ui $(ARGS)

sandbox: $(BIN)/salesdw ## the sandbox APIs alone on http://127.0.0.1:8700
	$(BIN)/salesdw sandbox serve $(ARGS)

clean:
	rm -rf data dbt_project/target dbt_project/logs
