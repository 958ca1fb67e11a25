"""The test suite. Imported before tests/conftest.py and anything the tests import.

Under pytest-xdist (`make test` runs two workers) each worker parses dbt into a target folder of its own, so two
workers never write one manifest at once: dbt and the Dagster definitions (orchestration/resources.py) both read
DBT_TARGET_PATH, which has to be set before orchestration is imported.
"""

import os

if worker := os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("DBT_TARGET_PATH", f"target/{worker}")
    os.environ.setdefault("DBT_LOG_PATH", f"logs/{worker}")
