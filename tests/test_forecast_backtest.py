"""The backtest check's verdicts (pure) and, on the shared build, the backtest and forecasts as a user reads them."""

from __future__ import annotations

from decimal import Decimal

from orchestration.checks.backtest import Accuracy, accuracy_table, verdicts


def _row(channel: str, method: str, wape: str, horizon: int = 1, coverage: str | None = None) -> Accuracy:
    return Accuracy(channel, horizon, method, 12, Decimal(wape), Decimal("0"), Decimal(coverage) if coverage else None)


def test_a_model_worse_than_seasonal_naive_is_flagged_and_the_goal_needs_both_wape_and_coverage() -> None:
    rows = [
        _row("shopify", "model", "0.06", coverage="0.80"),
        _row("shopify", "seasonal_naive", "0.20"),
        _row("shopify", "trailing_3m", "0.10"),
        _row("ebay", "model", "0.15", coverage="0.80"),
        _row("ebay", "seasonal_naive", "0.12"),
        _row("ebay", "trailing_3m", "0.30"),
        _row("amazon", "model", "0.07", coverage="0.95"),  # accurate, but the interval is too wide
        _row("amazon", "seasonal_naive", "0.20"),
        _row("amazon", "model", "0.50", horizon=2),  # other horizons do not count
    ]
    got = {v.channel: v for v in verdicts(rows)}
    assert [c for c, v in got.items() if v.worse_than_seasonal_naive] == ["ebay"]
    assert got["shopify"].best_baseline_wape == Decimal("0.10")
    assert got["shopify"].meets_goal  # 0.06 <= 0.8 x 0.10, coverage inside 70-90 %
    assert not got["amazon"].meets_goal and not got["amazon"].worse_than_seasonal_naive
    assert not got["ebay"].meets_goal
    table = accuracy_table(rows)
    assert "| ebay | 1 | model | 12 | 0.150 | 0.000 | 0.800 |" in table
