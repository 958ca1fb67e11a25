"""The backtest: the model's forecasts over a range of forecast months beside the two baselines of
shared/DESIGN.md §6 (seasonal naive: the same month a year earlier; trailing 3m: the mean of the three
months before the forecast month), scored against the actual monthly net revenue.

WAPE = Σ|actual − forecast| ÷ Σ actual and bias = Σ(forecast − actual) ÷ Σ actual over the target months;
coverage = the share of target months whose actual lies inside the 80% interval (the model only).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import pandas as pd

from forecasting.commerce import (
    COMMERCE_CHANNELS,
    HORIZONS,
    add_months,
    daily_series,
    forecast_months,
    month_start,
)


def monthly_actuals(daily: pd.DataFrame, channels: Iterable[str] = COMMERCE_CHANNELS) -> dict[tuple[str, date], float]:
    """Net revenue by (channel, month start): the monthly sum of the daily figure."""
    out: dict[tuple[str, date], float] = {}
    for channel, series in daily_series(daily, channels).items():
        for period, value in series.groupby(series.index.to_period("M")).sum().items():
            out[(channel, period.to_timestamp().date())] = float(value)
    return out


def backtest(
    daily: pd.DataFrame, months: Iterable[date | str], channels: Iterable[str] = COMMERCE_CHANNELS
) -> pd.DataFrame:
    """One row per forecast month × horizon × channel × method (``model``, ``seasonal_naive``, ``trailing_3m``)
    with forecast, lower, upper (the model only) and actual (null when the target month is not complete)."""
    channels = tuple(channels)
    targets = sorted({month_start(m) for m in months})
    actuals = monthly_actuals(daily, channels)
    last_day = pd.to_datetime(daily["date_day"]).max().date()

    def actual(channel: str, month: date) -> float | None:
        complete = add_months(month, 1) <= last_day + timedelta(days=1)
        return actuals.get((channel, month)) if complete else None

    forecasts, _ = forecast_months(daily, targets, channels)
    rows = [
        {
            "forecast_month": f.forecast_month,
            "target_month": f.target_month,
            "horizon": f.horizon,
            "channel": f.channel,
            "method": "model",
            "forecast": float(f.forecast_usd),
            "lower": float(f.lower_usd),
            "upper": float(f.upper_usd),
            "actual": actual(f.channel, f.target_month),
        }
        for f in forecasts
    ]
    for channel in channels:
        for month in targets:
            trailing = [actuals.get((channel, add_months(month, -k))) for k in (1, 2, 3)]
            for h in range(1, HORIZONS + 1):
                target = add_months(month, h - 1)
                base = {"forecast_month": month, "target_month": target, "horizon": h, "channel": channel}
                base |= {"lower": None, "upper": None, "actual": actual(channel, target)}
                naive = actuals.get((channel, add_months(target, -12)))
                if naive is not None:
                    rows.append({**base, "method": "seasonal_naive", "forecast": naive})
                if all(v is not None for v in trailing):
                    rows.append({**base, "method": "trailing_3m", "forecast": sum(trailing) / 3})  # type: ignore[arg-type]
    return pd.DataFrame(rows)


def accuracy(rows: pd.DataFrame) -> pd.DataFrame:
    """Per channel × horizon × method over the target months with an actual: months, WAPE, bias and (the
    model) the 80% interval's coverage."""
    known = rows[rows["actual"].notna()].copy()
    known["abs_error"] = (known["actual"] - known["forecast"]).abs()
    known["error"] = known["forecast"] - known["actual"]
    known["inside"] = (known["actual"] >= known["lower"]) & (known["actual"] <= known["upper"])
    out = []
    for (channel, horizon, method), g in known.groupby(["channel", "horizon", "method"], sort=True):
        total = g["actual"].sum()
        out.append(
            {
                "channel": channel,
                "horizon": horizon,
                "method": method,
                "months": len(g),
                "wape": g["abs_error"].sum() / total,
                "bias": g["error"].sum() / total,
                "interval_coverage": g["inside"].mean() if method == "model" else None,
            }
        )
    return pd.DataFrame(out)


def backtest_table(acc: pd.DataFrame) -> str:
    """The accuracy as a markdown table: channel × horizon rows, WAPE and bias of each method, the model's
    WAPE ÷ the better baseline's and its coverage."""
    lines = [
        "| channel | h | months | model WAPE | naive WAPE | 3m WAPE | model/best | model bias | naive bias | 3m bias | coverage |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (channel, horizon), g in acc.groupby(["channel", "horizon"], sort=True):
        by = g.set_index("method")
        model, naive, trailing = (
            by.loc[m] if m in by.index else None for m in ("model", "seasonal_naive", "trailing_3m")
        )

        def f(row: pd.Series | None, col: str) -> str:
            return "–" if row is None or pd.isna(row[col]) else f"{row[col]:.3f}"

        best = (
            min(x["wape"] for x in (naive, trailing) if x is not None)
            if (naive is not None or trailing is not None)
            else None
        )
        ratio = f"{model['wape'] / best:.2f}" if model is not None and best else "–"
        coverage = "–" if model is None else f"{model['interval_coverage']:.0%}"
        months = int(model["months"]) if model is not None else 0
        lines.append(
            f"| {channel} | {horizon} | {months} | {f(model, 'wape')} | {f(naive, 'wape')} | {f(trailing, 'wape')} | "
            f"{ratio} | {f(model, 'bias')} | {f(naive, 'bias')} | {f(trailing, 'bias')} | {coverage} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Print the backtest table of a warehouse: ``python -m forecasting.backtest [--first ..] [--last ..]``
    (the current target, ``SALESDW_DUCKDB_PATH`` for DuckDB; target months from ``--score-from`` on)."""
    import argparse

    from core.warehouse import connect

    parser = argparse.ArgumentParser(description="Backtest of the commerce forecast against the warehouse")
    parser.add_argument("--first", default="2025-09-01", help="first forecast month")
    parser.add_argument("--last", default="2026-10-01", help="last forecast month")
    parser.add_argument("--score-from", default="2025-11-01", help="first target month scored")
    args = parser.parse_args(argv)
    names = ", ".join(f"'{c}'" for c in COMMERCE_CHANNELS)
    with connect() as wh:
        daily = wh.df(
            f"select date_day, channel, net_revenue_usd from marts.channel_revenue_daily where channel in ({names})"
        )
    rows = backtest(daily, pd.date_range(args.first, args.last, freq="MS").date)
    rows = rows[rows["target_month"] >= date.fromisoformat(args.score_from)]
    print(backtest_table(accuracy(rows)))


if __name__ == "__main__":
    main()
