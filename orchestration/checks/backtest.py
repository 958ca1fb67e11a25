"""The forecast backtest as a non-blocking asset check on ``marts.forecast_accuracy``: our model must not be worse
than the seasonal-naive baseline (the same month a year earlier) on any channel at horizon 1. It warns, with the
whole table in its metadata; the goal (docs/architecture.md, Forecasts) is stricter: at most 0.8× the better
baseline, and 70-90 % interval coverage, which the metadata reports too."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from dagster import AssetCheckResult, AssetChecksDefinition, AssetCheckSeverity, AssetKey, MetadataValue, asset_check

from orchestration.resources import WAREHOUSE_POOL, read_only_warehouse

ACCURACY_KEY = AssetKey(["marts", "forecast_accuracy"])
GOAL_RATIO = Decimal("0.8")
COVERAGE_GOAL = (Decimal("0.70"), Decimal("0.90"))
BASELINES = ("seasonal_naive", "trailing_3m")


@dataclass(frozen=True)
class Accuracy:
    channel: str
    horizon: int
    method: str
    months: int
    wape: Decimal | None
    bias: Decimal | None
    interval_coverage: Decimal | None


@dataclass(frozen=True)
class ChannelVerdict:
    channel: str
    model_wape: Decimal | None
    seasonal_naive_wape: Decimal | None
    best_baseline_wape: Decimal | None
    coverage: Decimal | None

    @property
    def worse_than_seasonal_naive(self) -> bool:
        if self.model_wape is None or self.seasonal_naive_wape is None:
            return False
        return self.model_wape > self.seasonal_naive_wape

    @property
    def meets_goal(self) -> bool:
        return (
            self.model_wape is not None
            and self.best_baseline_wape is not None
            and self.model_wape <= GOAL_RATIO * self.best_baseline_wape
            and self.coverage is not None
            and COVERAGE_GOAL[0] <= self.coverage <= COVERAGE_GOAL[1]
        )


def verdicts(rows: Iterable[Accuracy], horizon: int = 1) -> list[ChannelVerdict]:
    """Per channel at ``horizon``: our model's WAPE against the seasonal-naive and the better baseline."""
    by_channel: dict[str, dict[str, Accuracy]] = {}
    for row in rows:
        if row.horizon == horizon:
            by_channel.setdefault(row.channel, {})[row.method] = row
    out = []
    for channel, methods in sorted(by_channel.items()):
        model = methods.get("model")
        baselines = [methods[b].wape for b in BASELINES if b in methods and methods[b].wape is not None]
        out.append(
            ChannelVerdict(
                channel=channel,
                model_wape=model.wape if model else None,
                seasonal_naive_wape=methods["seasonal_naive"].wape if "seasonal_naive" in methods else None,
                best_baseline_wape=min(baselines) if baselines else None,
                coverage=model.interval_coverage if model else None,
            )
        )
    return out


def _fmt(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.3f}"


def accuracy_table(rows: list[Accuracy]) -> str:
    """The backtest as a markdown table: WAPE (bias) by channel × horizon × method, and the model's coverage."""
    lines = ["| channel | horizon | method | months | WAPE | bias | coverage |", "|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r.channel, r.horizon, r.method)):
        lines.append(
            f"| {r.channel} | {r.horizon} | {r.method} | {r.months} | {_fmt(r.wape)} | {_fmt(r.bias)} "
            f"| {_fmt(r.interval_coverage)} |"
        )
    return "\n".join(lines)


def read_accuracy() -> list[Accuracy]:
    with read_only_warehouse() as con:
        return [
            Accuracy(c, int(h), m, int(n), w, b, cov)
            for c, h, m, n, w, b, cov in con.rows(
                "select channel, horizon, method, months, wape, bias, interval_coverage from marts.forecast_accuracy"
            )
        ]


def backtest_checks() -> list[AssetChecksDefinition]:
    @asset_check(
        asset=ACCURACY_KEY,
        name="model_beats_seasonal_naive",
        description="Non-blocking: the model's 1-month WAPE is no worse than the seasonal-naive baseline's on every "
        "channel. Metadata: the whole backtest, and per channel whether the goal (≤ 0.8× the better baseline, "
        "coverage 70-90 %) is met.",
        blocking=False,
        pool=WAREHOUSE_POOL,
    )
    def model_beats_seasonal_naive() -> AssetCheckResult:
        rows = read_accuracy()
        results = verdicts(rows)
        worse = [v.channel for v in results if v.worse_than_seasonal_naive]
        missing = [v.channel for v in results if v.model_wape is None]
        metadata = {
            "backtest": MetadataValue.md(accuracy_table(rows)),
            "worse_than_seasonal_naive": ", ".join(worse) or "none",
            "without_model_forecasts": ", ".join(missing) or "none",
            "meets_goal": ", ".join(v.channel for v in results if v.meets_goal) or "none",
            **{
                f"{v.channel}_h1": f"model {_fmt(v.model_wape)} vs seasonal naive {_fmt(v.seasonal_naive_wape)}, "
                f"best baseline {_fmt(v.best_baseline_wape)}, coverage {_fmt(v.coverage)}"
                for v in results
            },
        }
        return AssetCheckResult(
            passed=bool(results) and not worse and not missing, severity=AssetCheckSeverity.WARN, metadata=metadata
        )

    return [model_beats_seasonal_naive]
