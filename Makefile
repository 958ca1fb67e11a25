# Two commands a new user needs (see README): `make run` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test ui sandbox clean

$(BIN)/salesdw: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	@touch $@

run: $(BIN)/salesdw ## the main job on the embedded default: sandbox -> dlt -> DuckDB -> dbt -> checks -> summary
	$(BIN)/salesdw run $(ARGS)

test: $(BIN)/salesdw ## the test suite (small sandbox worlds, temporary warehouses)
	$(BIN)/pytest -q $(ARGS)

ui: $(BIN)/salesdw ## the Dagster UI on http://127.0.0.1:3000
	$(BIN)/salesdw ui $(ARGS)

sandbox: $(BIN)/salesdw ## the sandbox APIs alone on http://127.0.0.1:8700
	$(BIN)/salesdw sandbox serve $(ARGS)

clean:
	rm -rf data dbt_project/target dbt_project/logs
