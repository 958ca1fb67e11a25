"""How long the commerce forecast step takes (orchestration/assets/forecast.py), at scale 1 and scale 10.

The daily net revenue of the three commerce channels is drawn from the sandbox's demand model
(sandbox/demand.py: ``daily_mean`` × a Poisson count × an order value) from 2024-01-01 to ``--as-of`` into a
temporary DuckDB as ``marts.channel_revenue_daily``; scale 10 has ten times the orders a day, and the same
number of rows (one per day × channel). Timed per scale: the read of the daily table, the forecast of one
month (the last one), the backtest range (``--first`` .. the last month, one call: the forecast months share
their rolling-origin fits) and the asset itself over that range (Dagster ``materialize``: read, fit, replace
the partitions' rows, checks). Prints a table and the command line.

    PYTHONPATH=. .venv/bin/python bench/forecast.py            # ~1–2 min
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from sandbox.demand import daily_mean
from sandbox.sim import HISTORY_START

# orders a day at the trend anchor and an average order's net revenue (USD) at scale 1, near the default world's
CHANNELS = {"shopify": (40.0, 33.0), "amazon": (24.0, 14.0), "ebay": (7.0, 24.0)}


def daily_revenue(seed: int, scale: float, as_of: date) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = [HISTORY_START + timedelta(days=i) for i in range((as_of - HISTORY_START).days + 1)]
    rows = []
    for channel, (orders, value) in CHANNELS.items():
        means = np.array([daily_mean(seed, channel, d, orders * scale) for d in days])
        counts = rng.poisson(means)
        revenue = np.array([rng.gamma(4.0, value / 4.0, n).sum() for n in counts])  # order values vary
        rows.append(pd.DataFrame({"date_day": days, "channel": channel, "net_revenue_usd": revenue.round(2)}))
    return pd.concat(rows, ignore_index=True)


def timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 10, 31))
    parser.add_argument("--first", type=date.fromisoformat, default=date(2025, 9, 1), help="first forecast month")
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0])
    args = parser.parse_args()

    from dagster import DagsterInstance, materialize

    from core.warehouse import connect
    from forecasting import forecast_month, forecast_months
    from orchestration.assets.forecast import commerce_forecasts, read_daily_revenue
    from orchestration.schedules import partition_range_tags

    imports_s, _ = timed(lambda: __import__("statsmodels.tsa.ar_model"))  # once per process, not per scale
    last = (args.as_of + timedelta(days=1)).replace(day=1)
    months = pd.date_range(args.first, last, freq="MS").date.tolist()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for scale in args.scales:
            path = Path(tmp) / f"scale{scale:g}.duckdb"
            daily = daily_revenue(args.seed, scale, args.as_of)
            con = duckdb.connect(str(path))
            con.execute("create schema marts")
            con.register("daily", daily)
            con.execute(
                "create table marts.channel_revenue_daily as select cast(date_day as date) as date_day, channel, "
                "cast(net_revenue_usd as decimal(18, 2)) as net_revenue_usd from daily"
            )
            con.close()
            os.environ["SALESDW_DUCKDB_PATH"], os.environ["SALESDW_TARGET"] = str(path), "duckdb"
            with connect(path) as wh:
                read_s, frame = timed(lambda wh=wh: read_daily_revenue(wh, before=last + timedelta(days=1)))
            one_s, _ = timed(lambda frame=frame: forecast_month(frame, last))
            range_s, (made, _) = timed(lambda frame=frame: forecast_months(frame, months))
            asset_s, result = timed(
                lambda: materialize(
                    [commerce_forecasts],
                    instance=DagsterInstance.ephemeral(),
                    tags=partition_range_tags(months[0].isoformat(), months[-1].isoformat()),
                    raise_on_error=True,
                )
            )
            monthly = daily.assign(m=pd.to_datetime(daily["date_day"]).dt.to_period("M"))
            per_month = monthly.groupby(["channel", "m"])["net_revenue_usd"].sum().groupby("channel").mean()
            results.append((scale, len(frame), per_month.sum(), read_s, one_s, range_s, len(made), asset_s))

    print(f"forecast step, {len(months)} forecast months {months[0]:%Y-%m} .. {months[-1]:%Y-%m}, as of {args.as_of}")
    print(f"statsmodels import (once per process): {imports_s:.2f} s")
    print(
        "| scale | daily rows | avg month net (3 ch) | read s | one month s | range s | forecasts | asset (range) s |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for scale, rows, monthly_net, read_s, one_s, range_s, made, asset_s in results:
        print(
            f"| {scale:g} | {rows} | {monthly_net:,.0f} | {read_s:.2f} | {one_s:.2f} | {range_s:.2f} | {made} | {asset_s:.2f} |"
        )
    print("command: PYTHONPATH=. " + " ".join([Path(sys.executable).name, *sys.argv]))


if __name__ == "__main__":
    main()
