from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from core.warehouse import Warehouse, as_warehouse, for_target

if TYPE_CHECKING:
    from great_expectations.data_context.types.base import DataContextConfig
    from great_expectations.expectations import Expectation

logging.getLogger("great_expectations").setLevel(logging.WARNING)

MAX_SAMPLE_ROWS = 5


class _Lazy:
    """A module imported when first used. Great Expectations takes 3-4 s to import; the suites are defined when
    Dagster's definitions load (every `salesdw run`, the UI), but GX is needed only when a suite validates, and a
    run whose suites meet rows they passed before (gx_memo.py) needs it not at all."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        module: ModuleType = importlib.import_module(self._name)
        return getattr(module, attr)


gxe: Any = _Lazy("great_expectations.expectations")  # the suites' expectations: `gxe.ExpectColumn...(...)`


def _context_config() -> DataContextConfig:
    """An in-memory context that sends no analytics and draws no progress bars (no environment variable needed)."""
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    return DataContextConfig(
        analytics_enabled=False,
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )


RESULT_FORMAT: dict[str, Any] = {
    "result_format": "COMPLETE",  # COMPLETE gives unexpected_index_list -> sample_rows
    "partial_unexpected_count": MAX_SAMPLE_ROWS,
    "include_unexpected_rows": False,
}

if TYPE_CHECKING:
    Expectations = Sequence[Expectation] | Callable[[], Sequence[Expectation]]


@dataclass(frozen=True)
class SuiteSpec:
    name: str
    asset: tuple[str, str]
    sql: str
    expectations: Expectations

    def build(self) -> list[Expectation]:
        exps = self.expectations() if callable(self.expectations) else self.expectations
        # GX stamps ids onto expectations when they join a suite; never share instances
        return [e.copy(deep=True) for e in exps]


def month_of(column: str) -> str:
    """The month start of a date column, in SQL both targets run (the reconciliation suites' month)."""
    return f"cast(date_trunc('month', {column}) as date)"


def exactly_zero(*columns: str) -> list[Expectation]:
    """A reconciliation suite's verdict: every difference column is exactly 0."""
    return [gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=0) for c in columns]


@dataclass
class ValidationOutcome:
    suite: str
    asset: tuple[str, str]
    passed: bool
    evaluated: int
    rows: int
    failures: list[dict[str, Any]] = field(default_factory=list)
    sample_rows: list[dict[str, str | None]] = field(default_factory=list)

    def metadata(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "asset": ".".join(self.asset),
            "rows": self.rows,
            "expectations": self.evaluated,
            "failed": len(self.failures),
            "failures": self.failures,
            "sample_rows": self.sample_rows,
        }


def _s(v: Any) -> str | None:
    import pandas as pd

    if v is None or (not isinstance(v, (list, dict, tuple)) and pd.isna(v)):
        return None
    return str(v)


def validate(con: Warehouse | Any, suite: SuiteSpec) -> ValidationOutcome:
    """Run the suite on the rows of its query (DuckDB SQL, translated for the connection's target);
    `con` is a warehouse connection of either target, or a DuckDB connection."""
    import great_expectations as gx

    con = as_warehouse(con)
    # DECIMAL money reaches pandas as float64 on both targets. That float lives ONLY in this
    # throw-away validation frame (range / null checks); the warehouse keeps DECIMAL.
    frame = con.df(for_target(suite.sql, con.target)).reset_index(drop=True)

    ctx = gx.get_context(mode="ephemeral", project_config=_context_config())
    batch = (
        ctx.data_sources.add_pandas(f"{suite.name}_src")
        .add_dataframe_asset(suite.name)
        .add_batch_definition_whole_dataframe("all_rows")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    gx_suite = gx.ExpectationSuite(name=suite.name, expectations=suite.build())
    result = batch.validate(gx_suite, result_format=RESULT_FORMAT)

    failures: list[dict[str, Any]] = []
    bad_idx: list[int] = []
    for r in result.results:
        if r.success:
            continue
        kwargs = {k: v for k, v in r.expectation_config.kwargs.items() if k != "batch_id"}
        res = r.result or {}
        failure: dict[str, Any] = {
            "expectation": r.expectation_config.type,
            "column": kwargs.get("column") or kwargs.get("column_list"),
            "kwargs": {k: v if isinstance(v, (bool, int, float, list)) else _s(v) for k, v in kwargs.items()},
            "unexpected_count": res.get("unexpected_count"),
            "unexpected_percent": res.get("unexpected_percent"),
            "partial_unexpected": [_s(v) for v in res.get("partial_unexpected_list") or []][:MAX_SAMPLE_ROWS],
        }
        # exception_info is either flat or keyed by metric id (one dict per failed metric)
        info = r.exception_info or {}
        raised = [i for i in [info, *info.values()] if isinstance(i, dict) and i.get("raised_exception")]
        if raised:
            failure["exception"] = _s(raised[0].get("exception_message"))
        failures.append(failure)
        if failure["column"] is not None:
            for i in res.get("unexpected_index_list") or []:
                if len(bad_idx) >= MAX_SAMPLE_ROWS:
                    break
                if isinstance(i, int) and i not in bad_idx:
                    bad_idx.append(i)

    # to_dict("records") boxes per column, so int columns are not upcast by float neighbours
    records = frame.iloc[[i for i in bad_idx if 0 <= i < len(frame)]].to_dict("records")
    sample_rows = [{str(k): _s(v) for k, v in rec.items()} for rec in records]
    return ValidationOutcome(
        suite=suite.name,
        asset=suite.asset,
        passed=bool(result.success),
        evaluated=len(result.results),
        rows=len(frame),
        failures=failures,
        sample_rows=sample_rows,
    )
