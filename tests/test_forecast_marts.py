"""marts.forecast_monthly and marts.forecast_accuracy on the shared build, as a planner checks them: the actual is
finance.monthly_revenue's, the baselines are what their definitions say, nothing was forecast from a month not yet
complete, and the backtest's WAPE, bias and coverage recompute from the forecasts."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from tests.helpers import query

READS_SHARED_BUILD = True


def _add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def _revenue(warehouse: Path) -> dict[tuple[date, str], Decimal]:
    return {
        (m, c): v
        for m, c, v in query(warehouse, "select revenue_month, channel, net_revenue_usd from finance.monthly_revenue")
    }


def test_every_method_forecasts_every_channel_and_the_actual_is_monthly_revenue(warehouse: Path) -> None:
    revenue = _revenue(warehouse)
    last_day = query(warehouse, "select max(date_day) from marts.channel_revenue_daily")[0][0]
    rows = query(
        warehouse,
        "select forecast_month, target_month, horizon, channel, method, forecast_usd, lower_usd, upper_usd, "
        "actual_usd, is_actual_known from marts.forecast_monthly where forecast_level = 'channel'",
    )
    methods = defaultdict(set)
    for f, t, h, channel, method, point, lower, upper, actual, known in rows:
        methods[channel].add(method)
        assert t == _add_months(f, h - 1)
        assert point >= 0 and (lower is None) == (upper is None)
        assert lower is None or lower <= point <= upper
        complete = _add_months(t, 1) <= last_day + (date(2000, 1, 2) - date(2000, 1, 1))
        assert known == complete, (f, t, channel, method)
        assert actual == (revenue.get((t, channel), Decimal("0.00")) if complete else None), (f, t, channel)
    assert set(methods) == {"b2b", "shopify", "amazon", "ebay"}
    assert all({"seasonal_naive", "trailing_3m", "plan"} <= m for m in methods.values()), methods
    # the pipeline forecast always runs; the commerce model skips channels too sparse for it (the small test
    # world has ~1 order a day: tests/test_forecasting.py covers the model on synthetic series)
    assert "model" in methods["b2b"]


def test_baselines_are_last_years_month_and_the_mean_of_the_three_months_before(warehouse: Path) -> None:
    revenue = _revenue(warehouse)
    rows = query(
        warehouse,
        "select forecast_month, target_month, channel, method, forecast_usd from marts.forecast_monthly "
        "where method in ('seasonal_naive', 'trailing_3m')",
    )
    assert rows
    for f, t, channel, method, point in rows:
        if method == "seasonal_naive":
            assert point == revenue.get((_add_months(t, -12), channel), Decimal("0.00")), (f, t, channel)
        else:
            before = [revenue.get((_add_months(f, -k), channel), Decimal("0.00")) for k in (1, 2, 3)]
            assert point == (sum(before) / 3).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), (f, channel)


def test_the_backtest_recomputes_from_the_forecasts(warehouse: Path) -> None:
    forecasts = query(
        warehouse,
        "select target_month, horizon, channel, method, forecast_usd, lower_usd, upper_usd, actual_usd "
        "from marts.forecast_monthly where forecast_level = 'channel' and is_actual_known",
    )
    last = max(r[0] for r in forecasts)
    window = [r for r in forecasts if r[0] > _add_months(last, -12)]
    cells: dict[tuple[int, str, str], list[tuple]] = defaultdict(list)
    for t, h, channel, method, point, lower, upper, actual in window:
        cells[(h, channel, method)].append((point, lower, upper, actual))
    got = {
        (h, c, m): (n, wape, bias, cov)
        for c, h, m, n, wape, bias, cov in query(
            warehouse,
            "select channel, horizon, method, months, wape, bias, interval_coverage from marts.forecast_accuracy",
        )
    }
    assert set(got) == set(cells)
    q = Decimal("0.0001")
    for key, items in cells.items():
        actual = sum(a for *_, a in items)
        months, wape, bias, coverage = got[key]
        assert months == len(items) <= 12
        if actual:
            assert wape == (sum(abs(a - p) for p, _, _, a in items) / actual).quantize(q, ROUND_HALF_UP), key
            assert bias == (sum(p - a for p, _, _, a in items) / actual).quantize(q, ROUND_HALF_UP), key
        inside = [lo <= a <= up for _, lo, up, a in items if lo is not None]
        assert coverage == (None if not inside else (Decimal(sum(inside)) / len(inside)).quantize(q, ROUND_HALF_UP))
