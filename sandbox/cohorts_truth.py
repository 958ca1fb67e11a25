"""Customer and account cohorts recounted from the world's own objects (docs/cohorts.md), never from an API or the
warehouse: the reference ``tests/test_cohorts.py`` holds the cohort marts and ``marts.dim_customer`` to.

- **Counted orders** as ``sandbox/truth.py`` counts them: Shopify orders neither test nor cancelled, Amazon orders not
  ``Canceled``, eBay orders not cancelled; B2B: deals won and not archived, on the UTC close date, per company.
- **Net sales postings**: an order posts gross − discounts (each converted to USD on its own at the order date's rate)
  on its order date; each refund −refund (USD at the refund date's rate) on its own date; a won deal its amount (USD
  at the close date's rate) on the close date.
- **Identity**: the warehouse's resolution key (int_customer_identities), so ``md5(key)`` is the warehouse's
  ``customer_key``: a Shopify customer is ``email|<normalized email>`` (normalized: tabs and line breaks removed,
  trimmed, lower-cased; two accounts with one email are one person), an Amazon buyer ``amazon|<email>``, an eBay
  buyer ``ebay|<username>``, a company ``company|<id>``. In the world no Shopify customer shares an email with
  another or with a marketplace buyer, and marketplace buyers never match anyone, so channel ``all`` is exact too.
- **Cohorts**: per channel the month of the customer's first counted order in it; ``all`` the first across the
  commerce channels. Month k = cohort month + k, every k through the month of the as-of date (the latest posting
  date, as the warehouse defines it). Active in k = a counted order in month k (in the channel; any commerce channel
  for ``all``).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sandbox.sim import to_usd
from sandbox.world import World

ZERO = Decimal("0.00")
COMMERCE = ("shopify", "amazon", "ebay")


@dataclass
class Sale:
    """One counted order (or won deal × company) of a resolved customer and its net sales postings."""

    key: str  # resolution key, md5(key) = the warehouse's customer_key
    channel: str
    order_id: str
    order_date: date
    postings: list[tuple[date, Decimal]] = field(default_factory=list)  # (posted date, net sales USD)


def normalize_email(email: str) -> str:
    return email.replace("\t", "").replace("\r", "").replace("\n", "").strip().lower()


def customer_key(resolution_key: str) -> str:
    """The warehouse's customer_key (dbt.hash = md5 hex on DuckDB and PostgreSQL)."""
    return hashlib.md5(resolution_key.encode()).hexdigest()


def sales(world: World) -> list[Sale]:
    """Every counted order and won deal with its resolved customer and postings (test/cancelled orders left out)."""
    out: list[Sale] = []
    for o in world.shopify_orders:
        if o.test or o.cancelled_at is not None:
            continue
        day = o.created_at.date()
        s = Sale(f"email|{normalize_email(o.customer.email)}", "shopify", str(o.order_id), day)
        s.postings.append((day, to_usd(o.gross, Decimal(1)) - to_usd(o.discount_total, Decimal(1))))
        s.postings += [(r.created_at.date(), -r.subtotal) for r in o.refunds]
        out.append(s)
    for a in world.amazon_orders:
        if a.status == "Canceled":
            continue
        day = a.purchase_date.date()
        rate = world.usd_per_unit(a.currency, day)
        discounts = sum((i.promotion_discount for i in a.items), ZERO)
        s = Sale(f"amazon|{normalize_email(a.buyer_email)}", "amazon", a.order_id, day)
        s.postings.append((day, to_usd(a.gross, rate) - to_usd(discounts, rate)))
        for e in a.events:
            if e.kind == "refund":
                posted = e.posted_at.date()
                s.postings.append((posted, -to_usd(e.refund, world.usd_per_unit(a.currency, posted))))
        out.append(s)
    for eb in world.commerce.ebay_orders:
        if eb.cancelled_at is not None:
            continue
        day = eb.created_at.date()
        s = Sale(f"ebay|{eb.buyer.strip().lower()}", "ebay", eb.order_id, day)
        s.postings.append((day, eb.gross - eb.discount))
        s.postings += [(r.refunded_at.date(), -r.amount) for r in eb.refunds]
        out.append(s)
    for d in world.deals:
        if d.closed_at is None or d.is_archived or not d.is_won or d.company_id is None:
            continue
        day = d.closed_at.date()
        s = Sale(f"company|{d.company_id}", "b2b", d.deal_id, day)
        s.postings.append((day, to_usd(d.amount, world.usd_per_unit(d.currency, day))))
        out.append(s)
    return out


def month_of(day: date) -> date:
    return day.replace(day=1)


def months_between(first: date, last: date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month


def as_of_date(all_sales: Iterable[Sale]) -> date:
    """The warehouse's default as-of date: the latest posting date."""
    return max(p for s in all_sales for p, _ in s.postings)


def _cohort_rows(
    members: dict[str, date], sales_of: dict[str, list[Sale]], last_month: date, order_key: str, account: bool
) -> dict[tuple[date, int], dict[str, Any]]:
    """Per (cohort month, k): size, active, orders, net sales (and expansion for accounts) of one scope."""
    rows: dict[tuple[date, int], dict[str, Any]] = {}
    sizes: dict[date, int] = defaultdict(int)
    for first in members.values():
        sizes[month_of(first)] += 1
    for cohort, size in sizes.items():
        for k in range(months_between(cohort, last_month) + 1):
            rows[(cohort, k)] = {"size": size, "active": set(), order_key: 0, "net_sales_usd": ZERO, "expansion": ZERO}
    for key, first in members.items():
        cohort = month_of(first)
        ordered = sorted(sales_of[key], key=lambda s: (s.order_date, s.order_id))
        for n, s in enumerate(ordered):
            row = rows[(cohort, months_between(cohort, month_of(s.order_date)))]
            row["active"].add(key)
            row[order_key] += 1
            for posted, amount in s.postings:
                target = rows[(cohort, months_between(cohort, month_of(posted)))]
                target["net_sales_usd"] += amount
                if account and n > 0:
                    target["expansion"] += amount
    for (cohort, k), row in sorted(rows.items()):
        previous = rows.get((cohort, k - 1))
        row["active"] = len(row["active"])
        row["cumulative_net_sales_usd"] = row["net_sales_usd"] + (
            previous["cumulative_net_sales_usd"] if previous else 0
        )
    return rows


def customer_cohorts(world: World) -> dict[tuple[date, str, int], dict[str, Any]]:
    """(cohort_month, channel, months_since_first_order) -> cohort_customers, active_customers, orders,
    net_sales_usd, cumulative_net_sales_usd; channels shopify, amazon, ebay and all."""
    all_sales = sales(world)
    last_month = month_of(as_of_date(all_sales))
    commerce = [s for s in all_sales if s.channel in COMMERCE]
    out: dict[tuple[date, str, int], dict[str, Any]] = {}
    for channel in (*COMMERCE, "all"):
        scope = [s for s in commerce if channel in ("all", s.channel)]
        sales_of: dict[str, list[Sale]] = defaultdict(list)
        for s in scope:
            sales_of[s.key].append(s)
        members = {k: min(s.order_date for s in v) for k, v in sales_of.items()}
        for (cohort, k), row in _cohort_rows(members, sales_of, last_month, "orders", account=False).items():
            out[(cohort, channel, k)] = {
                "cohort_customers": row["size"],
                "active_customers": row["active"],
                "orders": row["orders"],
                "net_sales_usd": row["net_sales_usd"],
                "cumulative_net_sales_usd": row["cumulative_net_sales_usd"],
            }
    return out


def account_cohorts(world: World) -> dict[tuple[date, int], dict[str, Any]]:
    """(cohort_month, months_since_first_won) -> accounts, active_accounts, deals_won, bookings_usd,
    expansion_bookings_usd, cumulative_bookings_usd: companies by the month of their first won deal."""
    all_sales = sales(world)
    last_month = month_of(as_of_date(all_sales))
    sales_of: dict[str, list[Sale]] = defaultdict(list)
    for s in all_sales:
        if s.channel == "b2b":
            sales_of[s.key].append(s)
    members = {k: min(s.order_date for s in v) for k, v in sales_of.items()}
    return {
        key: {
            "accounts": row["size"],
            "active_accounts": row["active"],
            "deals_won": row["deals_won"],
            "bookings_usd": row["net_sales_usd"],
            "expansion_bookings_usd": row["expansion"],
            "cumulative_bookings_usd": row["cumulative_net_sales_usd"],
        }
        for key, row in _cohort_rows(members, sales_of, last_month, "deals_won", account=True).items()
    }


def customer_lifetimes(world: World, churn_window_days: int = 180) -> dict[str, dict[str, Any]]:
    """customer_key -> lifetime_orders, lifetime_net_sales_usd, first/last order date, days_since_last_order,
    is_churned (days since > window) and ltv_12m_usd (net sales posted before first order + 12 months; None unless
    that date is on or before the as-of date), as of the latest posting date."""
    all_sales = sales(world)
    as_of = as_of_date(all_sales)
    by_key: dict[str, list[Sale]] = defaultdict(list)
    for s in all_sales:
        by_key[s.key].append(s)
    out: dict[str, dict[str, Any]] = {}
    for key, items in by_key.items():
        first = min(s.order_date for s in items)
        last = max(s.order_date for s in items)
        ends = _add_months(first, 12)
        postings = [p for s in items for p in s.postings]
        out[customer_key(key)] = {
            "lifetime_orders": len(items),
            "lifetime_net_sales_usd": sum((a for _, a in postings), ZERO),
            "first_order_date": first,
            "last_order_date": last,
            "days_since_last_order": (as_of - last).days,
            "is_churned": (as_of - last).days > churn_window_days,
            "ltv_12m_usd": sum((a for d, a in postings if d < ends), ZERO) if ends <= as_of else None,
        }
    return out


def _add_months(day: date, months: int) -> date:
    """day + months, clamped to the month's last day (as SQL's interval arithmetic does)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)
