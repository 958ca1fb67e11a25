"""What a run leaves behind, as a user checks it: raw counts against the sandbox truth, mart totals, checks."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from core.warehouse import Warehouse, as_warehouse, connect

# sandbox truth record counts -> the raw table that must hold exactly that many rows
RAW_TABLE_OF_TRUTH = {
    "shopify.orders": "raw_shopify.orders",
    "shopify.orders.line_items": "raw_shopify.orders__line_items",
    "shopify.orders.refunds": "raw_shopify.orders__refunds",
    "shopify.customers": "raw_shopify.customers",
    "shopify.products": "raw_shopify.products",
    "shopify.checkouts": "raw_shopify.abandoned_checkouts",
    "crm.deals": "raw_crm.deals",
    "crm.owners": "raw_crm.owners",
    "crm.owners.teams": "raw_crm.owners__teams",
    "crm.contacts": "raw_crm.contacts",
    "crm.companies": "raw_crm.companies",
    "crm.goal_targets": "raw_crm.goal_targets",
    "crm.deals.stage_history": "raw_crm.deals__stage_history",
    "crm.deals.owner_history": "raw_crm.deals__owner_history",
    "crm.deals.companies": "raw_crm.deals__companies",
    "crm.deals.contacts": "raw_crm.deals__contacts",
    "crm.deal_pipelines.stages": "raw_crm.deal_pipelines__stages",
    "amazon.orders": "raw_amazon.orders",
    "amazon.order_items": "raw_amazon.orders__order_items",
    "ebay.orders": "raw_ebay.orders",
    "ebay.orders.line_items": "raw_ebay.orders__line_items",
    "ebay.orders.refunds": "raw_ebay.orders__payment_summary__refunds",
    "fx.rates": "raw_fx.rates",
    "amazon_ads.campaign_days": "raw_amazon_ads.sp_campaign_days",
}


def raw_counts(con: Warehouse | Any) -> dict[str, int]:
    """Rows per raw table (`con`: a warehouse connection of either target, or a DuckDB connection)."""
    con = as_warehouse(con)
    tables = sorted(
        t
        for (t,) in con.rows(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema like 'raw\\_%' escape '\\' and table_schema not like '%\\_staging' escape '\\' "
            "and table_name not like '\\_dlt%' escape '\\'"
        )
    )
    return {t: con.scalar(_live_count(t, tables)) for t in tables}


# HubSpot records merged away keep their last-seen raw rows; the truth counts each merged group once
MERGED_AWAY = {"raw_crm.deals": "raw_crm.deal_merges", "raw_crm.contacts": "raw_crm.contact_merges"}


def _live_count(table: str, tables: list[str]) -> str:
    """Rows of a raw table, less a merged-away HubSpot record's row (and a deal's nested rows)."""
    root = table.split("__")[0]
    merges = MERGED_AWAY.get(root)
    if merges not in tables:
        return f"select count(*) from {table}"
    if table == root:
        return f"select count(*) from {table} where id not in (select id from {merges})"
    return (
        f"select count(*) from {table} as c join {root} as p on p._dlt_id = c._dlt_parent_id "
        f"where p.id not in (select id from {merges})"
    )


MONEY = ("gross_sales_usd", "discounts_usd", "refunds_usd", "net_sales_usd", "marketplace_fees_usd", "net_revenue_usd")


def channel_totals(con: Warehouse | Any) -> list[dict[str, Any]]:
    con = as_warehouse(con)
    if not con.table_exists("marts", "channel_revenue_daily"):
        return []
    rows = con.rows(f"""
        select channel, sum(orders), {", ".join(f"sum({m})" for m in MONEY)}
        from marts.channel_revenue_daily group by channel order by channel""")
    return [dict(zip(("channel", "orders", *MONEY), r)) for r in rows]


def truth_channel_totals(truth: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for row in truth["monthly"]:
        t = out.setdefault(row["channel"], {"orders": 0, **{k: Decimal(0) for k in MONEY}})
        t["orders"] += row["orders"]
        for k in MONEY:
            t[k] += Decimal(row[k])
    return out


def quarantine_counts(con: Warehouse | Any) -> dict[tuple[str, str], int]:
    con = as_warehouse(con)
    if not con.table_exists("raw_quarantine", "records"):
        return {}
    rows = con.rows("select source_key, resource, count(*) from raw_quarantine.records group by 1, 2")
    return {(source, resource): n for source, resource, n in rows}


# raw_quarantine (source key, resource) -> the truth's bad-record resource name
QUARANTINE_RESOURCE_OF = {
    ("shopify", "orders"): "shopify.orders",
    ("amazon", "orders"): "amazon.orders",
    ("crm", "deals"): "crm.deals",
    ("plan", "targets"): "plan.targets",
}


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [headers] + [[("" if v is None else str(v)) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = lambda r: "  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(r, widths)))
    return "\n".join([line(cells[0]), line(["-" * w for w in widths]), *map(line, cells[1:])])


def _ratio(amount: Any, spend: Any) -> str:
    return "" if amount is None or not spend else f"{Decimal(amount) / Decimal(spend):.2f}"


def marketing_rows(con: Warehouse, truth: dict[str, Any] | None) -> tuple[list[list[Any]], bool]:
    """Spend per platform (USD and account currency) against the truth, and the platform-reported ROAS beside the
    warehouse's own (attributed net sales from the warehouse's orders ÷ spend); no rows before the marts exist."""
    if not con.table_exists("marts", "fct_ad_spend_daily") or not con.table_exists(
        "marts", "marketing_performance_monthly"
    ):
        return [], True
    spend = {
        (platform, currency): (usd, local)
        for platform, currency, usd, local in con.rows(
            "select platform, currency, sum(spend_usd), sum(spend) from marts.fct_ad_spend_daily group by 1, 2"
        )
    }
    roas = {
        platform: (attributed, platform_value, spent)
        for platform, attributed, platform_value, spent in con.rows(
            "select platform, sum(attributed_net_sales_usd), sum(platform_conversion_value_usd), sum(spend_usd) "
            "from marts.marketing_performance_monthly where platform is not null group by 1"
        )
    }
    want: dict[tuple[str, str], list[Decimal]] = {}
    for r in (truth or {}).get("marketing", {}).get("ad_spend_monthly", []):
        w = want.setdefault((r["platform"], r["currency"]), [Decimal(0), Decimal(0)])
        w[0] += Decimal(r["spend_usd"])
        w[1] += Decimal(r["spend"])
    ok_all, rows, shown = True, [], set()
    for key in sorted(set(spend) | set(want)):
        usd, local = spend.get(key, (None, None))
        expected = want.get(key) if truth else None
        ok = expected is None or (usd == expected[0] and local == expected[1])
        ok_all &= ok
        attributed, platform_value, spent = roas.get(key[0], (None, None, None))
        first = key[0] not in shown  # the platform's ROAS on its first row (it spans its accounts' currencies)
        shown.add(key[0])
        rows.append(
            [
                *key,
                local,
                usd,
                _ratio(attributed, spent) if first else "",
                _ratio(platform_value, spent) if first else "",
                "" if expected is None else ("= truth" if ok else "MISMATCH"),
            ]
        )
    return rows, ok_all


BACKTEST_METHODS = ("model", "seasonal_naive", "trailing_3m", "plan")


def backtest_rows(con: Warehouse) -> list[list[Any]]:
    """The backtest as the summary prints it: WAPE per channel × horizon for each method, and the model's
    interval coverage (no rows before the planning models were built)."""
    if not con.table_exists("marts", "forecast_accuracy"):
        return []
    cells: dict[tuple[str, int], dict[str, Any]] = {}
    for channel, horizon, method, wape, coverage in con.rows(
        "select channel, horizon, method, wape, interval_coverage from marts.forecast_accuracy"
    ):
        row = cells.setdefault((channel, int(horizon)), {})
        row[method] = "" if wape is None else f"{wape:.3f}"
        if method == "model":
            row["coverage"] = "" if coverage is None else f"{coverage:.2f}"
    return [
        [channel, horizon, *(row.get(m, "") for m in (*BACKTEST_METHODS, "coverage"))]
        for (channel, horizon), row in sorted(cells.items())
    ]


def render_summary(
    warehouse: Path,
    checks: list[tuple[str, str, bool]],
    truth: dict[str, Any] | None,
    run_ok: bool,
    warned: set[tuple[str, str]] | None = None,
) -> tuple[str, bool]:
    """The printed summary, and whether everything reconciled (raw counts and channel totals vs truth).
    `warehouse` is the DuckDB file; on the postgres target the database of the environment is read."""
    out: list[str] = []
    reconciled = True
    with connect(warehouse, read_only=True) as con:
        counts = raw_counts(con)
        expected = {
            RAW_TABLE_OF_TRUTH[k]: v
            for k, v in (truth or {}).get("record_counts", {}).items()
            if k in RAW_TABLE_OF_TRUTH
        }
        rows = []
        for table in sorted(set(counts) | set(expected)):  # a table the truth has but the warehouse lacks: missing
            n, want = counts.get(table), expected.get(table)
            ok = want is None or want == (n or 0)
            reconciled &= ok
            verdict = "" if want is None else ("ok" if ok else ("MISSING" if n is None else "MISMATCH"))
            rows.append([table, "missing" if n is None else n, "" if want is None else want, verdict])
        out += ["Raw layer (rows loaded vs sandbox truth)", _table(["table", "rows", "truth", ""], rows), ""]
        totals = channel_totals(con)
        quarantined = quarantine_counts(con)
        backtest = backtest_rows(con)
        marketing, marketing_ok = marketing_rows(con, truth)
        reconciled &= marketing_ok
    expected_totals = truth_channel_totals(truth) if truth else {}
    rows = []
    zero = {"orders": 0, **{k: Decimal(0) for k in MONEY}}
    got_totals = {t["channel"]: t for t in totals}
    for channel in sorted(set(got_totals) | set(expected_totals)):  # a channel of the truth the marts lack: missing
        t = got_totals.get(channel)
        want = expected_totals.get(channel, zero if truth else None)
        ok = want is None or all(want[k] == (t or zero)[k] for k in ("orders", *MONEY))
        reconciled &= ok
        verdict = "" if want is None else ("= truth" if ok else ("MISSING" if t is None else "MISMATCH"))
        if t is None:
            rows.append([channel, "missing", *([""] * len(MONEY)), verdict])
        else:
            rows.append([channel, t["orders"], *(t[k] for k in MONEY), verdict])
    out += [
        "marts.channel_revenue_daily, all days (USD)",
        _table(["channel", "orders", "gross", "discounts", "refunds", "net sales", "fees", "net revenue", ""], rows),
        "",
    ]
    expected_bad: dict[str, int] = {}
    for bad in (truth or {}).get("bad_records", []):
        expected_bad[bad["resource"]] = expected_bad.get(bad["resource"], 0) + 1
    if (truth or {}).get("plan", {}).get("malformed"):  # the plan sheet's malformed rows, in every world
        expected_bad["plan.targets"] = len(truth["plan"]["malformed"])  # type: ignore[index]
    rows = [[f"{source}/{resource}", n] for (source, resource), n in sorted(quarantined.items())]
    got_bad = {QUARANTINE_RESOURCE_OF.get(k, k): n for k, n in quarantined.items()}
    if truth is not None:
        quarantine_ok = {k: v for k, v in got_bad.items() if v} == expected_bad
        reconciled &= quarantine_ok
        rows.append(
            [
                "sandbox truth (bad records served, malformed plan rows)",
                sum(expected_bad.values()),
                "= truth" if quarantine_ok else "MISMATCH",
            ]
        )
    out += [
        "Quarantine (raw_quarantine.records: records that broke their contract)",
        _table(["source/resource", "records", ""], [r + [""] * (3 - len(r)) for r in rows]) if rows else "  none",
        "",
    ]
    if marketing:
        out += [
            "Marketing (marts.fct_ad_spend_daily spend vs sandbox truth; ROAS over the whole history, per platform: "
            "the warehouse's attributed net sales vs the platform's own conversion value, never summed)",
            _table(["platform", "currency", "spend", "spend USD", "ROAS", "platform ROAS", ""], marketing),
            "",
        ]
    if backtest:
        out += [
            "Forecast backtest (marts.forecast_accuracy: WAPE over the last 12 complete months; coverage of the 80 % interval)",
            _table(["channel", "horizon", *BACKTEST_METHODS, "coverage"], backtest),
            "",
        ]
    warnings = [c for c in checks if not c[2] and (c[0], c[1]) in (warned or set())]
    failed = [c for c in checks if not c[2] and c not in warnings]
    out.append(
        f"Checks: {len(checks) - len(failed) - len(warnings)} passed, {len(failed)} failed"
        + (f", {len(warnings)} warned (non-blocking)" if warnings else "")
    )
    out += [f"  FAILED {asset}: {name}" for asset, name, _ in failed]
    out += [f"  WARNED {asset}: {name} (see the check's metadata)" for asset, name, _ in warnings]
    out.append(
        f"Run: {'succeeded' if run_ok else 'FAILED'}; reconciliation with sandbox truth: "
        f"{'n/a' if truth is None else ('exact' if reconciled else 'MISMATCH')}"
    )
    return "\n".join(out), reconciled
