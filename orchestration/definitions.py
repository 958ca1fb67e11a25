"""The one Dagster ``Definitions`` of Sales Warehouse, built when first asked for (``dagster dev -m
orchestration.definitions`` finds the ``@definitions`` function; code calls ``load_definitions()``)."""

from __future__ import annotations

from functools import cache

from dagster import Definitions, definitions


@cache
def load_definitions() -> Definitions:
    """Every asset, check, job, schedule and sensor; the dbt manifest is prepared here, not at import."""
    from orchestration.assets.forecast import commerce_forecasts
    from orchestration.assets.ingestion import raw_assets
    from orchestration.assets.monthly_report import monthly_report_after_close, monthly_report_job, monthly_sales_report
    from orchestration.assets.transform import dbt_asset_defs
    from orchestration.checks.backtest import backtest_checks
    from orchestration.checks.gx_checks import gx_checks
    from orchestration.resources import resources
    from orchestration.schedules import automation, jobs, schedules
    from orchestration.sensors import sensors

    return Definitions(
        assets=[*raw_assets(), *dbt_asset_defs(), commerce_forecasts, monthly_sales_report],
        asset_checks=[*gx_checks(), *backtest_checks()],
        jobs=[*jobs, monthly_report_job],
        schedules=schedules,
        sensors=[*sensors, automation, monthly_report_after_close],
        resources=resources(),
    )


@definitions
def defs() -> Definitions:
    return load_definitions()
