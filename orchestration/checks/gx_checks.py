"""Great Expectations suites as blocking Dagster asset checks: contract-level suites on the raw layer and
reconciliation suites on the finance path and the marketing marts. Results carry the failing expectations and sample rows;
a suite that passed the very same rows before passes again without GX (gx_memo.py)."""

from __future__ import annotations

from dagster import AssetCheckResult, AssetChecksDefinition, AssetCheckSeverity, AssetKey, asset_check

from orchestration.assets.transform import warehouse_identity
from orchestration.checks.gx_finance_suites import FINANCE_SUITES
from orchestration.checks.gx_marketing_suites import MARKETING_SUITES
from orchestration.checks.gx_memo import PassedSuites, rows_digest
from orchestration.checks.gx_runner import SuiteSpec, validate
from orchestration.checks.gx_suites import RAW_SUITES
from orchestration.resources import WAREHOUSE_POOL, read_only_warehouse


def _gx_check(suite: SuiteSpec) -> AssetChecksDefinition:
    @asset_check(
        asset=AssetKey(list(suite.asset)),
        name=f"gx_{suite.name}",
        description=f"Great Expectations suite {suite.name} on {'.'.join(suite.asset)} (blocking: a failure stops "
        "everything downstream in the run).",
        blocking=True,
        pool=WAREHOUSE_POOL,
    )
    def _check() -> AssetCheckResult:
        memo = PassedSuites(warehouse_identity())
        with read_only_warehouse() as con:
            rows = rows_digest(con, suite)
            kept = memo.passed_before(suite, rows)
            if kept is not None:  # these very rows passed this suite before (gx_memo.py)
                return AssetCheckResult(passed=True, severity=AssetCheckSeverity.ERROR, metadata=kept)
            outcome = validate(con, suite)
        metadata = outcome.metadata()
        memo.remember(suite, rows, outcome.passed, metadata)
        return AssetCheckResult(passed=outcome.passed, severity=AssetCheckSeverity.ERROR, metadata=metadata)

    return _check


def gx_checks() -> list[AssetChecksDefinition]:
    return [_gx_check(suite) for suite in [*RAW_SUITES, *FINANCE_SUITES, *MARKETING_SUITES]]
