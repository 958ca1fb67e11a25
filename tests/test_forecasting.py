"""The commerce forecast (forecasting/) and its asset (orchestration/assets/forecast.py) on synthetic daily
revenue with known structure: no sandbox world and no dbt build."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from dagster import DagsterInstance, materialize

from core.warehouse import connect
from forecasting import MIN_HISTORY_MONTHS, NotEnoughHistory, forecast_month, forecast_months
from forecasting.backtest import accuracy, backtest
from forecasting.commerce import black_friday, daily_series, fit_point
from orchestration.assets.forecast import (
    INSIDE_INTERVAL_CHECK,
    NON_NEGATIVE_CHECK,
    check_results,
    commerce_forecasts,
    table_problems,
)
from orchestration.schedules import partition_range_tags
from tests.helpers import environment

START, END = date(2024, 1, 1), date(2026, 10, 31)
LEVELS = {"shopify": 1500.0, "amazon": 400.0, "ebay": 200.0}


def synthetic_daily(seed: int = 3, channels: tuple[str, ...] = ("shopify", "amazon", "ebay")) -> pd.DataFrame:
    """Daily net revenue with a 25% yearly growth, a weekday profile, a yearly cycle (±12%), a holiday peak
    from Black Friday to Christmas, AR(1) month shocks and log-normal day noise."""
    rng = np.random.default_rng(seed)
    days = pd.date_range(START, END, freq="D")
    weekday = np.array([1.0, 0.95, 0.93, 0.97, 0.96, 1.05, 1.14])
    months = days.to_period("M")
    frames = []
    for channel in channels:
        shock, shocks = 0.0, {}
        for month in months.unique():
            shock = 0.5 * shock + rng.normal(0, 0.04)
            shocks[month] = shock
        bf = np.array([(d - black_friday(d.year)).days for d in days])
        holiday = np.where((bf >= 0) & (days.month == 12) & (days.day <= 24) | (bf >= 0) & (days.month == 11), 0.5, 0)
        mean = (
            LEVELS[channel]
            * 1.25 ** ((days - pd.Timestamp(START)).days / 365.25)
            * weekday[days.weekday]
            * (1 + 0.12 * np.cos(2 * np.pi * (days.dayofyear - 15) / 365.25))
            * (1 + holiday)
            * np.exp(np.array([shocks[m] for m in months]))
        )
        value = mean * rng.lognormal(-0.01, 0.12, len(days))
        frames.append(pd.DataFrame({"date_day": days.date, "channel": channel, "net_revenue_usd": value.round(2)}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def daily() -> pd.DataFrame:
    return synthetic_daily()


def test_forecast_uses_only_data_before_the_forecast_month(daily: pd.DataFrame) -> None:
    month = date(2025, 11, 1)
    before, _ = forecast_month(daily, month, channels=("shopify",))
    changed = daily.copy()
    after = pd.to_datetime(changed["date_day"]) >= pd.Timestamp(month)
    changed.loc[after, "net_revenue_usd"] *= 10  # the future changes wildly
    changed = changed[~(after & (pd.to_datetime(changed["date_day"]) >= pd.Timestamp("2026-06-01")))]
    again, _ = forecast_month(changed, month, channels=("shopify",))
    assert [(f.target_month, f.forecast_usd, f.lower_usd, f.upper_usd) for f in again] == [
        (f.target_month, f.forecast_usd, f.lower_usd, f.upper_usd) for f in before
    ]
    assert {f.history_end_date for f in before} == {date(2025, 10, 31)}
    # while a change before the forecast month moves it
    earlier = daily.copy()
    earlier.loc[pd.to_datetime(earlier["date_day"]).dt.to_period("M") == "2025-10", "net_revenue_usd"] *= 1.5
    moved, _ = forecast_month(earlier, month, channels=("shopify",))
    assert moved[0].forecast_usd > before[0].forecast_usd


def test_forecasts_are_cents_non_negative_and_inside_their_intervals(daily: pd.DataFrame) -> None:
    forecasts, skipped = forecast_months(daily, ["2025-06-01", "2026-02-01"])
    assert not skipped
    assert len(forecasts) == 2 * 3 * 3  # months × channels × horizons
    assert {
        (f.horizon, (f.target_month.year * 12 + f.target_month.month) - (2026 * 12 + 2))
        for f in forecasts
        if f.forecast_month == date(2026, 2, 1)
    } == {(1, 0), (2, 1), (3, 2)}
    for f in forecasts:
        assert isinstance(f.forecast_usd, Decimal) and f.forecast_usd.as_tuple().exponent == -2
        assert Decimal("0") <= f.lower_usd < f.forecast_usd < f.upper_usd
    # the interval widens with the horizon (the average over channels)
    width = {h: np.mean([float(f.upper_usd / f.lower_usd) for f in forecasts if f.horizon == h]) for h in (1, 3)}
    assert width[3] > width[1]


def test_model_beats_both_baselines_on_a_series_with_known_seasonality(daily: pd.DataFrame) -> None:
    months = pd.date_range("2025-09-01", "2026-08-01", freq="MS")
    rows = backtest(daily, months, channels=("shopify", "ebay"))
    acc = accuracy(rows[rows["horizon"] == 1]).set_index(["channel", "method"])
    for channel in ("shopify", "ebay"):
        model = acc.loc[(channel, "model"), "wape"]
        assert model < 0.8 * acc.loc[(channel, "seasonal_naive"), "wape"], acc
        assert model < 0.8 * acc.loc[(channel, "trailing_3m"), "wape"], acc
        assert model < 0.08  # the noise (month shocks of 4–5%, day noise) leaves about this much
    coverage = rows[(rows["method"] == "model") & rows["actual"].notna()]
    inside = ((coverage["actual"] >= coverage["lower"]) & (coverage["actual"] <= coverage["upper"])).mean()
    assert 0.6 <= inside <= 0.97, inside


def test_baselines_and_scores_follow_the_metric_definitions(daily: pd.DataFrame) -> None:
    """Seasonal naive = the same month a year earlier; trailing 3m = the mean of the three months before the
    forecast month (every horizon); WAPE = Σ|actual − forecast| ÷ Σ actual; bias = Σ(forecast − actual) ÷ Σ actual."""
    ebay = daily[daily["channel"] == "ebay"]
    monthly = ebay.groupby(pd.to_datetime(ebay["date_day"]).dt.to_period("M"))["net_revenue_usd"].sum()
    rows = backtest(daily, ["2026-03-01", "2026-04-01"], channels=("ebay",))
    by = rows.set_index(["forecast_month", "horizon", "method"])
    naive = by.loc[(date(2026, 3, 1), 3, "seasonal_naive")]
    assert naive["target_month"] == date(2026, 5, 1)
    assert naive["forecast"] == pytest.approx(monthly["2025-05"])
    assert naive["actual"] == pytest.approx(monthly["2026-05"])
    for h in (1, 2, 3):
        trailing = by.loc[(date(2026, 4, 1), h, "trailing_3m"), "forecast"]
        assert trailing == pytest.approx((monthly["2026-01"] + monthly["2026-02"] + monthly["2026-03"]) / 3)
    acc = accuracy(rows).set_index(["horizon", "method"])
    scored = rows[(rows["horizon"] == 2) & (rows["method"] == "trailing_3m")]
    assert acc.loc[(2, "trailing_3m"), "months"] == 2
    assert acc.loc[(2, "trailing_3m"), "wape"] == pytest.approx(
        (scored["actual"] - scored["forecast"]).abs().sum() / scored["actual"].sum()
    )
    assert acc.loc[(2, "trailing_3m"), "bias"] == pytest.approx(
        (scored["forecast"] - scored["actual"]).sum() / scored["actual"].sum()
    )
    # a target month not complete in the data has no actual and is not scored
    late = backtest(daily, ["2026-10-01"], channels=("ebay",))
    assert late[late["target_month"] > date(2026, 10, 1)]["actual"].isna().all()
    assert set(accuracy(late)["months"]) == {1}


def test_short_history_and_a_missing_previous_month_are_skipped_with_a_reason(daily: pd.DataFrame) -> None:
    forecasts, skipped = forecast_month(daily, "2024-09-01")
    assert forecasts == []
    assert {s.channel for s in skipped} == {"shopify", "amazon", "ebay"}
    assert all(f"{MIN_HISTORY_MONTHS} needed" in s.reason for s in skipped)
    stale = daily[pd.to_datetime(daily["date_day"]) < pd.Timestamp("2025-08-01")]
    forecasts, skipped = forecast_month(stale, "2025-09-01", channels=("ebay",))
    assert forecasts == [] and "no data in 2025-08" in skipped[0].reason
    partial = daily[pd.to_datetime(daily["date_day"]) < pd.Timestamp("2025-08-20")]
    forecasts, skipped = forecast_month(partial, "2025-09-01", channels=("ebay",))
    assert forecasts == [] and "data ends 2025-08-19, before the end of 2025-08" in skipped[0].reason
    forecasts, skipped = forecast_month(daily[daily["channel"] != "ebay"], "2025-09-01")
    assert {f.channel for f in forecasts} == {"shopify", "amazon"}
    assert [s.reason for s in skipped] == ["no daily revenue rows for channel ebay"]
    with pytest.raises(NotEnoughHistory):
        fit_point(daily_series(daily)["shopify"], date(2024, 6, 1))


def test_bad_input_is_a_clear_error(daily: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="sharing a date × channel"):
        forecast_month(pd.concat([daily, daily.head(1)]), "2025-09-01")
    broken = daily.copy()
    broken.loc[5, "net_revenue_usd"] = None
    with pytest.raises(ValueError, match="null net_revenue_usd"):
        forecast_month(broken, "2025-09-01")
    with pytest.raises(ValueError, match="lacks column"):
        forecast_month(daily.drop(columns=["channel"]), "2025-09-01")


# --- the asset ----------------------------------------------------------------------------------------


def _warehouse(path: Path, daily: pd.DataFrame) -> None:
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.register("daily", daily)
    con.execute(
        "create table marts.channel_revenue_daily as select cast(date_day as date) as date_day, channel, "
        "cast(net_revenue_usd as decimal(18, 2)) as net_revenue_usd from daily"
    )
    con.close()


def _rows(path: Path) -> pd.DataFrame:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("select * from forecasts.commerce_forecasts order by forecast_month, channel, horizon").df()
    finally:
        con.close()


def test_asset_writes_a_range_of_partitions_and_replaces_them_on_rerun(tmp_path: Path, daily: pd.DataFrame) -> None:
    path = tmp_path / "wh.duckdb"
    _warehouse(path, daily)
    with environment({"SALESDW_DUCKDB_PATH": str(path), "SALESDW_TARGET": "duckdb"}):
        instance = DagsterInstance.ephemeral()
        result = materialize(
            [commerce_forecasts], instance=instance, tags=partition_range_tags("2025-09-01", "2025-10-01")
        )
        assert result.success
        rows = _rows(path)
        assert len(rows) == 2 * 3 * 3
        assert rows.groupby("forecast_month").size().to_dict() == {
            pd.Timestamp("2025-09-01"): 9,
            pd.Timestamp("2025-10-01"): 9,
        }
        assert set(rows["method"]) == {"model"} and rows["model_name"].nunique() == 1
        assert (rows["history_end_date"] == rows["forecast_month"] - pd.Timedelta(days=1)).all()
        with connect(path) as wh:
            types = dict(
                wh.rows(
                    "select column_name, data_type from information_schema.columns where table_name = 'commerce_forecasts'"
                )
            )
        assert types["forecast_usd"] == "DECIMAL(18,2)" and types["lower_usd"] == "DECIMAL(18,2)"
        materializations = {e.partition for e in result.get_asset_materialization_events()}
        assert materializations == {"2025-09-01", "2025-10-01"}
        assert all(c.passed for c in result.get_asset_check_evaluations())

        first = rows[rows["forecast_month"] == pd.Timestamp("2025-10-01")]
        again = materialize([commerce_forecasts], instance=instance, partition_key="2025-10-01")
        assert again.success
        rerun = _rows(path)
        assert len(rerun) == 18  # replaced, not duplicated
        october = rerun[rerun["forecast_month"] == pd.Timestamp("2025-10-01")]
        assert october["fitted_at"].min() > first["fitted_at"].max()
        assert october["forecast_usd"].tolist() == first["forecast_usd"].tolist()  # same data, same forecast
        september = rerun[rerun["forecast_month"] == pd.Timestamp("2025-09-01")]
        assert (
            september["fitted_at"].tolist()
            == rows[rows["forecast_month"] == pd.Timestamp("2025-09-01")]["fitted_at"].tolist()
        )

        early = materialize([commerce_forecasts], instance=instance, partition_key="2024-05-01")
        assert early.success  # skipped with a reason, not an error
        meta = early.get_asset_materialization_events()[0].materialization.metadata
        assert meta["months_fitted"].value == 0 and meta["rows"].value == 0
        assert "12 needed" in meta["skipped"].value
        assert len(_rows(path)) == 18


def test_checks_fail_on_a_negative_forecast_or_one_outside_its_interval(tmp_path: Path, daily: pd.DataFrame) -> None:
    path = tmp_path / "wh.duckdb"
    _warehouse(path, daily)
    with environment({"SALESDW_DUCKDB_PATH": str(path), "SALESDW_TARGET": "duckdb"}):
        assert materialize([commerce_forecasts], partition_key="2025-09-01").success
        with connect(path, read_only=False) as wh:
            assert table_problems(wh) == {NON_NEGATIVE_CHECK: 0, INSIDE_INTERVAL_CHECK: 0}
            wh.execute(
                "update forecasts.commerce_forecasts set lower_usd = forecast_usd + 1 where channel = 'ebay' and horizon = 1"
            )
            wh.execute(
                "update forecasts.commerce_forecasts set forecast_usd = -1, lower_usd = -2 where channel = 'amazon' and horizon = 2"
            )
            problems = table_problems(wh)
        assert problems == {NON_NEGATIVE_CHECK: 1, INSIDE_INTERVAL_CHECK: 1}
        results = {r.check_name: r for r in check_results(problems, rows=9)}
        assert not results[NON_NEGATIVE_CHECK].passed and not results[INSIDE_INTERVAL_CHECK].passed
        assert results[INSIDE_INTERVAL_CHECK].metadata["failing_rows"].value == 1


def test_synthetic_series_is_what_the_tests_say() -> None:
    """The fixture itself: growth near 25% a year and a December above November (so the tests can fail)."""
    monthly = synthetic_daily(channels=("shopify",)).assign(m=lambda d: pd.to_datetime(d["date_day"]).dt.to_period("M"))
    totals = monthly.groupby("m")["net_revenue_usd"].sum()
    growth = totals["2025-01":"2025-10"].sum() / totals["2024-01":"2024-10"].sum()
    assert math.isclose(growth, 1.25, abs_tol=0.06)
    assert totals["2024-12"] > totals["2024-11"] > totals["2024-10"]


def test_asset_writes_and_replaces_on_postgres(daily: pd.DataFrame) -> None:
    import psycopg2

    from tests.pg_scratch import admin_params, scratch_database

    with scratch_database("salesdw_forecast") as name:
        con = psycopg2.connect(**admin_params(name))
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute(
                "create schema marts; create table marts.channel_revenue_daily "
                "(date_day date, channel text, net_revenue_usd numeric(18, 2))"
            )
            rows = daily[daily["channel"] == "ebay"].itertuples(index=False)
            cur.executemany("insert into marts.channel_revenue_daily values (%s, %s, %s)", [tuple(r) for r in rows])
        env = {"SALESDW_TARGET": "postgres", "SALESDW_POSTGRES_DSN": f"postgresql://postgres@127.0.0.1:5432/{name}"}
        with environment(env):
            for _ in range(2):  # the second run replaces the first's rows
                assert materialize([commerce_forecasts], partition_key="2025-09-01").success
        with con.cursor() as cur:
            cur.execute(
                "select channel, count(*), bool_and(lower_usd <= forecast_usd and forecast_usd <= upper_usd)::int, "
                "pg_typeof(min(forecast_usd))::text from forecasts.commerce_forecasts group by channel"
            )
            assert cur.fetchall() == [("ebay", 3, 1, "numeric")]
            cur.execute(
                "select numeric_precision, numeric_scale from information_schema.columns "
                "where table_schema = 'forecasts' and column_name = 'forecast_usd'"
            )
            assert cur.fetchone() == (18, 2)
        con.close()


def test_the_asset_sits_in_the_lineage_between_the_daily_mart_and_dbt() -> None:
    """Upstream marts.channel_revenue_daily, downstream the dbt staging view (through the dbt source), in the
    monthly revenue job with finance.monthly_revenue's partitions, its checks blocking."""
    from dagster import AssetKey

    from orchestration.assets.forecast import DAILY_REVENUE_KEY, FORECASTS_KEY
    from orchestration.assets.transform import MONTHLY_REVENUE_KEY
    from orchestration.definitions import load_definitions
    from orchestration.schedules import REVENUE_JOB

    defs = load_definitions()
    graph = defs.resolve_asset_graph()
    node = graph.get(FORECASTS_KEY)
    assert node.parent_keys == {DAILY_REVENUE_KEY}
    assert AssetKey(["staging", "stg_forecasts__commerce_forecasts"]) in node.child_keys
    assert node.partitions_def == graph.get(MONTHLY_REVENUE_KEY).partitions_def
    assert node.group_name == "forecasts"
    job = defs.resolve_job_def(REVENUE_JOB)
    assert FORECASTS_KEY in job.asset_layer.selected_asset_keys
    checks = {k.name: graph.get_check_spec(k) for k in graph.asset_check_keys if k.asset_key == FORECASTS_KEY}
    assert set(checks) == {NON_NEGATIVE_CHECK, INSIDE_INTERVAL_CHECK}
    assert all(spec.blocking for spec in checks.values())
