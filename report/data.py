"""The report's figures, read from the public `marts` and `finance` tables only (a BI-role connection suffices).

`build_report_data(con, month)` returns one dataclass tree; the renderer formats it and the tests compare it
with SQL of their own. A figure whose table or value is missing is ``None`` (rendered "not available").
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.warehouse import Warehouse

SCHEMAS = ("finance", "marts")
FORECAST_METHODS = ("model", "trailing_3m")


class NoDataError(ValueError):
    """The month has no revenue in the warehouse."""


def parse_month(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m").date()
    except ValueError as exc:
        raise ValueError(f"--month must be YYYY-MM, got {text!r}") from exc


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _date(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else value


@dataclass
class Comparison:
    """One headline figure: the month's value and its comparisons (None = not available)."""

    name: str
    kind: str  # "money" | "count"
    value: Decimal | None
    plan: Decimal | None = None
    previous: Decimal | None = None
    last_year: Decimal | None = None

    def change(self, other: Decimal | None) -> Decimal | None:
        if self.value is None or other is None or other == 0:
            return None
        return (self.value - other) / abs(other)


@dataclass
class ChannelMonth:
    month: date
    channel: str
    net_revenue_usd: Decimal


@dataclass
class ForecastPoint:
    month: date
    forecast_usd: Decimal
    lower_usd: Decimal | None
    upper_usd: Decimal | None


@dataclass
class BridgeStep:
    label: str
    amount_usd: Decimal | None


@dataclass
class FunnelStage:
    pipeline: str
    stage: str
    stage_order: int
    deals_entered: int
    deals_advanced: int
    conversion_to_next: Decimal | None
    median_days_in_stage: Decimal | None


@dataclass
class RepRow:
    territory: str
    rep_name: str
    quota_usd: Decimal | None
    bookings_usd: Decimal
    attainment_pct: Decimal | None
    commission_usd: Decimal | None
    pipeline_coverage: Decimal | None


@dataclass
class TerritoryTotal:
    territory: str
    quota_usd: Decimal
    bookings_usd: Decimal
    commission_usd: Decimal

    @property
    def attainment(self) -> Decimal | None:
        return self.bookings_usd / self.quota_usd if self.quota_usd else None


@dataclass
class MarketingRow:
    channel: str
    spend_usd: Decimal | None
    conversion_rate: Decimal | None
    cac_usd: Decimal | None
    roas: Decimal | None


@dataclass
class RetentionRow:
    cohort_month: date
    cohort_customers: int
    retention: dict[int, Decimal | None]  # months since first order -> share active


@dataclass
class Adjustment:
    original_month: date
    channel: str
    amount_usd: Decimal
    reason: str


@dataclass
class CheckStatus:
    source: str  # where the results came from
    passed: int
    failed: list[str]
    evaluated_at: datetime | None


@dataclass
class ReportData:
    month: date
    generated_at: datetime
    period_status: str  # "closed" | "open"
    closed_at: datetime | None
    headline: list[Comparison]
    channel_revenue: list[ChannelMonth]
    plan_by_month: dict[date, Decimal]
    forecast: list[ForecastPoint]
    bridge: list[BridgeStep]
    funnel: list[FunnelStage]
    funnel_leakiest: FunnelStage | None
    funnel_velocity_days: Decimal | None
    reps: list[RepRow]
    territories: list[TerritoryTotal]
    marketing: list[MarketingRow]
    retention: list[RetentionRow]
    adjustments: list[Adjustment]
    data_through: date | None
    checks: CheckStatus | None
    available: dict[str, bool] = field(default_factory=dict)

    @property
    def provisional(self) -> bool:
        return self.period_status != "closed"

    @property
    def failing_checks(self) -> bool:
        return bool(self.checks and self.checks.failed)

    def figure(self, name: str) -> Comparison:
        return next(c for c in self.headline if c.name == name)


class _Reader:
    def __init__(self, con: Warehouse) -> None:
        self.con = con
        found = con.rows(
            "select table_schema, table_name from information_schema.tables where table_schema in ('finance', 'marts')"
        )
        self.tables = {name: schema for schema, name in found}

    def has(self, table: str) -> bool:
        return table in self.tables

    def t(self, table: str) -> str:
        return f"{self.tables[table]}.{table}"

    def rows(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self.con.rows(sql, list(params))

    def one(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> Any:
        rows = self.rows(sql, params)
        return rows[0][0] if rows else None


def _revenue(r: _Reader, month: date, column: str) -> Decimal | None:
    """A finance.monthly_revenue total for one month (None when the month has no rows or no value)."""
    return _dec(r.one(f"select sum({column}) from {r.t('monthly_revenue')} where revenue_month = ?", [month]))


def _headline(r: _Reader, month: date) -> list[Comparison]:
    prev, ly = add_months(month, -1), add_months(month, -12)
    out = []
    for name, column, kind in (
        ("Net revenue", "net_revenue_usd", "money"),
        ("Gross margin", "gross_margin_usd", "money"),
        ("Orders", "orders", "count"),
    ):
        out.append(
            Comparison(name, kind, _revenue(r, month, column), None, _revenue(r, prev, column), _revenue(r, ly, column))
        )
    if r.has("plan_vs_actual_monthly"):
        out[0].plan = _dec(
            r.one(
                f"select sum(plan_net_revenue_usd) from {r.t('plan_vs_actual_monthly')} "
                "where revenue_month = ? and is_latest_version",
                [month],
            )
        )

    def monthly(table: str, column: str, month_col: str, m: date) -> Decimal | None:
        if not r.has(table):
            return None
        return _dec(r.one(f"select sum({column}) from {r.t(table)} where {month_col} = ?", [m]))

    out.append(
        Comparison(
            "New customers",
            "count",
            *(monthly("channel_kpis_monthly", "new_customers", "month_start", m) for m in (month,)),
            None,
            monthly("channel_kpis_monthly", "new_customers", "month_start", prev),
            monthly("channel_kpis_monthly", "new_customers", "month_start", ly),
        )
    )
    out.append(
        Comparison(
            "B2B bookings",
            "money",
            monthly("rep_performance_monthly", "bookings_usd", "month_start", month),
            monthly("rep_performance_monthly", "quota_usd", "month_start", month),
            monthly("rep_performance_monthly", "bookings_usd", "month_start", prev),
            monthly("rep_performance_monthly", "bookings_usd", "month_start", ly),
        )
    )
    return out


def _forecast(r: _Reader, month: date) -> list[ForecastPoint]:
    """The next three months' forecast of net revenue, all channels summed (and their intervals): the latest one
    made by the start of the following month (so from data through the report month), the model's if it has one,
    else the trailing three-month mean (no interval)."""
    if not r.has("forecast_monthly"):
        return []
    t = r.t("forecast_monthly")
    for method in FORECAST_METHODS:
        made = r.one(
            f"select max(forecast_month) from {t} where forecast_level = 'channel' and method = ? "
            "and forecast_month <= ? and target_month > ?",
            [method, add_months(month, 1), month],
        )
        if made is None:
            continue
        rows = r.rows(
            f"select target_month, sum(forecast_usd), sum(lower_usd), sum(upper_usd) from {t} "
            "where forecast_level = 'channel' and method = ? and forecast_month = ? "
            "and target_month > ? and target_month <= ? group by target_month order by target_month",
            [method, made, month, add_months(month, 3)],
        )
        return [ForecastPoint(_date(m), _dec(f) or Decimal(0), _dec(lo), _dec(hi)) for m, f, lo, hi in rows]
    return []


def _bridge(r: _Reader, month: date) -> list[BridgeStep]:
    cols = r.rows(
        f"select sum(gross_sales_usd), sum(discounts_usd), sum(refunds_usd), sum(marketplace_fees_usd), "
        f"sum(adjustments_usd), sum(cogs_usd), sum(gross_margin_usd), sum(net_revenue_usd) "
        f"from {r.t('monthly_revenue')} where revenue_month = ?",
        [month],
    )[0]
    gross, disc, refunds, fees, adj, cogs, _margin, net = (_dec(v) for v in cols)
    neg = lambda v: None if v is None else -v
    return [
        BridgeStep("Gross sales", gross),
        BridgeStep("Discounts", neg(disc)),
        BridgeStep("Refunds", neg(refunds)),
        BridgeStep("Marketplace fees", neg(fees)),
        BridgeStep("Adjustments", adj),
        BridgeStep("Net revenue", net),
        BridgeStep("COGS", neg(cogs)),
        # what the month keeps after COGS: net revenue less the cost of the goods sold (B2B deals carry no cost)
        BridgeStep("Contribution", None if net is None or cogs is None else net - cogs),
    ]


def _funnel(r: _Reader, month: date) -> list[FunnelStage]:
    if not r.has("sales_funnel_monthly"):
        return []
    rows = r.rows(
        f"select pipeline_label, stage_label, stage_order, deals_entered, deals_advanced, conversion_to_next, "
        f"median_days_in_stage from {r.t('sales_funnel_monthly')} where cohort_month = ? "
        "order by pipeline_label, stage_order",
        [month],
    )
    return [FunnelStage(p, s, int(o), int(e or 0), int(a or 0), _dec(c), _dec(d)) for p, s, o, e, a, c, d in rows]


def _reps(r: _Reader, month: date) -> tuple[list[RepRow], list[TerritoryTotal]]:
    if not r.has("rep_performance_monthly"):
        return [], []
    rows = r.rows(
        f"select coalesce(territory, 'unassigned'), rep_name, quota_usd, bookings_usd, attainment_pct, "
        f"commission_usd, pipeline_coverage from {r.t('rep_performance_monthly')} where month_start = ? "
        "order by coalesce(territory, 'unassigned'), bookings_usd desc, rep_name",
        [month],
    )
    reps = [RepRow(t, n, _dec(q), _dec(b) or Decimal(0), _dec(a), _dec(c), _dec(p)) for t, n, q, b, a, c, p in rows]
    totals: dict[str, TerritoryTotal] = {}
    for rep in reps:
        tot = totals.setdefault(rep.territory, TerritoryTotal(rep.territory, Decimal(0), Decimal(0), Decimal(0)))
        tot.quota_usd += rep.quota_usd or 0
        tot.bookings_usd += rep.bookings_usd
        tot.commission_usd += rep.commission_usd or 0
    return reps, list(totals.values())


def _marketing(r: _Reader, month: date) -> list[MarketingRow]:
    if not r.has("channel_kpis_monthly"):
        return []
    rows = r.rows(
        f"select channel, spend_usd, conversion_rate, cac_usd, roas from {r.t('channel_kpis_monthly')} "
        "where month_start = ? order by channel",
        [month],
    )
    return [MarketingRow(c, _dec(s), _dec(cr), _dec(cac), _dec(ro)) for c, s, cr, cac, ro in rows]


def _retention(r: _Reader, month: date, cohorts: int = 6, horizon: int = 3) -> list[RetentionRow]:
    """All channels together (the mart's channel 'all': the resolved customer, cohort by the first order in any
    commerce channel): active customers / cohort customers, for the six cohorts up to the month. Summing the
    per-channel rows would count a customer once per channel and mix their cohorts."""
    if not r.has("customer_cohorts_monthly"):
        return []
    rows = r.rows(
        f"select cohort_month, months_since_first_order, cohort_customers, active_customers "
        f"from {r.t('customer_cohorts_monthly')} where channel = 'all' and cohort_month > ? and cohort_month <= ? "
        "and activity_month <= ? and months_since_first_order <= ? order by 1, 2",
        [add_months(month, -cohorts), month, month, horizon],
    )
    out: dict[date, RetentionRow] = {}
    for cohort, since, size, active in rows:
        row = out.setdefault(_date(cohort), RetentionRow(_date(cohort), 0, {}))
        if int(since) == 0:
            row.cohort_customers = int(size or 0)
        row.retention[int(since)] = Decimal(int(active or 0)) / Decimal(int(size)) if size else None
    return list(out.values())


def _adjustments(r: _Reader, month: date) -> list[Adjustment]:
    if not r.has("revenue_adjustments"):
        return []
    rows = r.rows(
        f"select original_month, channel, sum(amount_usd), reason from {r.t('revenue_adjustments')} "
        "where booked_month = ? and original_month < ? group by 1, 2, 4 order by 1, 2, 4",
        [month, month],
    )
    return [Adjustment(_date(o), c, _dec(a) or Decimal(0), str(reason)) for o, c, a, reason in rows]


def dagster_check_status(home: str | None = None) -> CheckStatus | None:
    """The latest evaluation of every asset check recorded in the Dagster instance at $DAGSTER_HOME."""
    home = home or os.environ.get("DAGSTER_HOME")
    if not home or not (Path(home) / "dagster.yaml").exists() and not any(Path(home).glob("history*")):
        return None
    from dagster import DagsterInstance

    with DagsterInstance.from_config(home) as instance:
        return check_status_from_instance(instance)


def check_status_from_instance(instance: Any) -> CheckStatus | None:
    from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

    from orchestration.definitions import load_definitions

    keys = list(load_definitions().resolve_asset_graph().asset_check_keys)
    records = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    if not records:
        return None
    passed, failed, latest = 0, [], None
    for key, record in records.items():
        evaluation = record.event.dagster_event.event_specific_data if record.event else None
        ok = record.status == AssetCheckExecutionRecordStatus.SUCCEEDED and getattr(evaluation, "passed", True)
        severity = getattr(getattr(evaluation, "severity", None), "value", "ERROR")
        if ok or severity == "WARN":
            passed += 1
        else:
            failed.append(f"{key.asset_key.to_user_string()}:{key.name}")
        stamp = datetime.fromtimestamp(record.create_timestamp, UTC)
        latest = stamp if latest is None or stamp > latest else latest
    return CheckStatus("Dagster instance", passed, sorted(failed), latest)


def build_report_data(con: Warehouse, month: date, checks: CheckStatus | None = None) -> ReportData:
    r = _Reader(con)
    if not r.has("monthly_revenue"):
        raise NoDataError("finance.monthly_revenue is not in the warehouse (run `salesdw run` first)")
    t = r.t("monthly_revenue")
    status_rows = r.rows(
        f"select max(period_status), max(closed_at), count(*) from {t} where revenue_month = ?", [month]
    )
    status, closed_at, n = status_rows[0]
    if not n:
        span = r.rows(f"select min(revenue_month), max(revenue_month) from {t}")[0]
        have = f"{span[0]:%Y-%m} to {span[1]:%Y-%m}" if span[0] else "none"
        raise NoDataError(f"no revenue data for {month:%Y-%m} (months in the warehouse: {have})")
    first = add_months(month, -12)
    channel = [
        ChannelMonth(_date(m), c, _dec(v) or Decimal(0))
        for m, c, v in r.rows(
            f"select revenue_month, channel, sum(net_revenue_usd) from {t} where revenue_month between ? and ? "
            "group by 1, 2 order by 1, 2",
            [first, month],
        )
    ]
    plan: dict[date, Decimal] = {}
    if r.has("plan_vs_actual_monthly"):
        for m, v in r.rows(
            f"select revenue_month, sum(plan_net_revenue_usd) from {r.t('plan_vs_actual_monthly')} "
            "where is_latest_version and revenue_month between ? and ? group by 1 having count(plan_net_revenue_usd) > 0",
            [first, add_months(month, 3)],
        ):
            plan[_date(m)] = _dec(v)  # type: ignore[assignment]
    funnel = _funnel(r, month)
    leaky = [s for s in funnel if s.conversion_to_next is not None and s.deals_entered > 0]
    velocity = None
    days = [s.median_days_in_stage for s in funnel if s.median_days_in_stage is not None]
    if days:
        velocity = sum(days, Decimal(0))
    reps, territories = _reps(r, month)
    data_through = None
    if r.has("fct_orders"):
        data_through = _date(r.one(f"select max(order_date) from {r.t('fct_orders')}"))
    closed = str(status or "").lower() == "closed"
    return ReportData(
        month=month,
        generated_at=datetime.now(UTC),
        period_status="closed" if closed else "open",
        closed_at=closed_at,
        headline=_headline(r, month),
        channel_revenue=channel,
        plan_by_month=plan,
        forecast=_forecast(r, month),
        bridge=_bridge(r, month),
        funnel=funnel,
        funnel_leakiest=min(leaky, key=lambda s: s.conversion_to_next) if leaky else None,  # type: ignore[arg-type,return-value]
        funnel_velocity_days=velocity,
        reps=reps,
        territories=territories,
        marketing=_marketing(r, month),
        retention=_retention(r, month),
        adjustments=_adjustments(r, month),
        data_through=data_through,
        checks=checks,
    )
