"""The marketing side of the world (docs/architecture.md: Marketing and the web funnel): ad accounts and campaigns on
Google Ads, Meta and Amazon Ads, their daily spend, the web sessions of every traffic source, the traffic source of
every Shopify order (its ``landing_site`` / ``referring_site`` with UTM parameters), the sponsored Amazon orders,
the abandoned checkouts, and what each platform reports (over-counted conversions, restated recent days).

How a day works (all from streams keyed by day, so a day never depends on ``as_of``):

1. Each active campaign spends around its daily budget (paced 80–100 %, raised in the holiday season and on the
   store's promotion days, never past twice the budget; Google's own cap).
2. Paid sessions follow spend with diminishing returns: ``sessions = ref_sessions × scale × (spend /
   (ref_spend × scale)) ** 0.8``. Clicks are 8–25 % above the sessions they bring (not every click lands).
3. Each traffic source converts at its own rate × a weekday factor × a promotion factor. The store's expected
   orders of the day (``sandbox/demand.py``) less the paid sources' expected orders is what the organic, direct,
   email, referral and organic-social sources bring; their sessions are those orders ÷ their conversion rates.
4. Every Shopify order of the day draws its traffic source in proportion to the sources' expected orders, from a
   stream of its own (the orders themselves are drawn in ``commerce_world`` as before). Sessions are at least the
   orders and checkouts they brought. Abandoned checkouts (those with an email, which Shopify lists) come from the
   same sources.
5. An Amazon order is sponsored with a probability of the marketplace's sponsored clicks × their conversion rate
   ÷ the marketplace's expected orders; the campaign in proportion to its clicks.
6. Platforms over-count: Google Ads reports 1.15–1.35× its true last-click orders (view-through, cross-device,
   data-driven credit, in hundredths), Meta 1.5–1.9× (1-day view + 7-day click), Amazon Ads 1.2–1.4× (14-day
   window, halo of other SKUs); their conversion value is those conversions × the true orders' average value
   × 0.95–1.10. They also restate recent days: conversions arrive late (Google within 3 days, Meta within 7,
   Amazon within 14), Google and Amazon credit invalid clicks on spend within 2 days; GA4 completes the last
   day's sessions the next day. :meth:`AdDay.reported` is the figure as seen at ``as_of``.

Attribution (the truth's recount, :func:`attribute`): an order's touch is its own session's source, unless that
session was direct: then the customer's latest non-direct touch of an earlier sales order within 30 days.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from typing import TYPE_CHECKING

from sandbox.demand import daily_mean, holiday_shape, poisson, promotion_on
from sandbox.sim import (
    AMAZON_ORDERS_PER_DAY,
    FX_START,
    HISTORY_START,
    SHOPIFY_ORDERS_PER_DAY,
    WorldConfig,
    at_utc,
    days,
    money,
    rng_for,
)

if TYPE_CHECKING:
    from sandbox.commerce_world import CommerceWorld, Product, ShopifyCustomer, ShopifyOrder

PLATFORMS = ("google_ads", "meta", "amazon_ads")
ADS_START = date(2023, 11, 1)  # the ad accounts' first campaigns (before the history, like the sources' start)
SESSION_ELASTICITY = 0.8  # sessions ∝ spend ** 0.8: diminishing returns
DIRECT_LOOKBACK_DAYS = 30  # a direct visit inherits the customer's last non-direct click within this window
GA4_TRACKED = 0.93  # share of purchases GA4 sees (consent, ad blockers)
ABANDONED_PER_ORDER = (0.45, 0.95)  # abandoned checkouts with an email per order, by day
# How late each platform's figures settle: conversions complete after this many days (day 0 = the as_of day).
CONVERSION_SETTLE_DAYS = {"google_ads": 3, "meta": 7, "amazon_ads": 14}
SPEND_CREDIT_DAYS = {"google_ads": 2, "amazon_ads": 2}  # invalid-click credits land within this many days
SPEND_CREDIT = Decimal("0.015")  # the share of recent spend that is later credited back
GA4_SETTLE_DAYS = 1
WHOLE_CONVERSIONS = (
    "meta",
    "amazon_ads",
)  # Meta's actions and Amazon's purchases14d are counts; Google's may be fractional
OVERCOUNT = {"google_ads": (1.15, 1.35), "meta": (1.5, 1.9), "amazon_ads": (1.2, 1.4)}
WEEKDAY_CVR = (1.02, 1.04, 1.03, 1.0, 0.96, 0.93, 0.97)  # Monday .. Sunday
PROMOTION_CVR = 1.2


@dataclass(frozen=True)
class AdAccount:
    platform: str
    account_id: str  # Google customer id (digits), Meta ad account id (digits, the API writes act_<id>), Ads profile id
    name: str
    currency: str
    time_zone: str = "UTC"  # the accounts report days in UTC, as the store's order dates are
    marketplace_id: str | None = None  # Amazon Ads: the profile's marketplace
    country_code: str | None = None
    manager_id: str | None = None  # Google Ads: the manager (MCC) account, sent as login-customer-id


@dataclass(frozen=True)
class Campaign:
    platform: str
    account: AdAccount
    campaign_id: str
    name: str
    kind: str  # search | shopping | facebook | instagram | sponsored_products
    start_date: date
    end_date: date | None  # inclusive; None: still running
    daily_budget: Decimal  # account currency, at scale 1
    ref_sessions: float  # sessions (Amazon: clicks) a day at the reference spend
    cvr: float  # web: orders per session; Amazon: orders per click
    ctr: float  # clicks per impression
    ad_group_ids: tuple[str, ...] = ()
    ad_group_names: tuple[str, ...] = ()

    @property
    def utm_campaign(self) -> str:
        return slug(self.name)

    def active_on(self, day: date) -> bool:
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)

    @property
    def currency(self) -> str:
        return self.account.currency

    @property
    def channel_group(self) -> str:
        if self.platform == "meta":
            return "Paid Social"
        return "Paid Shopping" if self.kind == "shopping" else "Paid Search"


@dataclass(frozen=True)
class TrafficSource:
    """One source of web sessions: what GA4 reports it as and what an order it brings carries."""

    key: str
    channel_group: str  # GA4's default channel group
    source: str  # GA4 sessionSource
    medium: str  # GA4 sessionMedium
    campaign: str  # GA4 sessionCampaignName
    cvr: float
    landing_path: str
    referring_site: str | None
    campaign_ref: Campaign | None = None  # the ad campaign, for paid sources
    utm: bool = False  # the landing URL carries utm_* parameters

    @property
    def platform(self) -> str | None:
        return self.campaign_ref.platform if self.campaign_ref else None

    @property
    def campaign_id(self) -> str | None:
        return self.campaign_ref.campaign_id if self.campaign_ref else None

    @property
    def is_direct(self) -> bool:
        return self.channel_group == "Direct"

    def landing_site(self, click_id: str) -> str:
        if not self.utm:
            return self.landing_path
        params = [("utm_source", self.source), ("utm_medium", self.medium), ("utm_campaign", self.campaign)]
        if self.campaign_ref is not None:
            params.append(("utm_id", self.campaign_ref.campaign_id))
            params.append(("gclid" if self.platform == "google_ads" else "fbclid", click_id))
        return self.landing_path + "?" + "&".join(f"{k}={v}" for k, v in params)


@dataclass
class AdDay:
    """A campaign's day: the final figures, and what the platform reports before they settle."""

    day: date
    campaign: Campaign
    spend: Decimal  # account currency, final (after credits)
    impressions: int
    clicks: int
    sessions: int  # web campaigns: the GA4 sessions they brought; Amazon: 0
    true_orders: int = 0  # last-click orders (web) / sponsored orders (Amazon), filled once orders are drawn
    true_value: Decimal = Decimal("0.00")  # their order value (web: Shopify total price; Amazon: item price)
    platform_conversions: Decimal = Decimal("0.00")  # final, over-counted (hundredths)
    platform_value: Decimal = Decimal("0.00")  # account currency, final
    credit: Decimal = Decimal("0.00")  # spend credited back later (invalid clicks)
    ad_group_shares: tuple[float, ...] = ()

    def reported(self, as_of: date) -> tuple[Decimal, Decimal, Decimal]:
        """(spend, conversions, conversion value) as the platform reports them at the end of ``as_of``."""
        lag = (as_of - self.day).days
        platform = self.campaign.platform
        spend = self.spend + (self.credit if lag < SPEND_CREDIT_DAYS.get(platform, 0) else Decimal(0))
        settle = CONVERSION_SETTLE_DAYS[platform]
        if lag >= settle:
            return spend, self.platform_conversions, self.platform_value
        share = Decimal(str(round(0.5 + 0.5 * lag / settle, 4)))
        whole = Decimal(1) if platform in WHOLE_CONVERSIONS else Decimal("0.01")
        return (
            spend,
            (self.platform_conversions * share).quantize(whole, rounding=ROUND_HALF_UP),
            money(self.platform_value * share),
        )


@dataclass
class SessionDay:
    """GA4's row of a day × traffic source."""

    day: date
    source: TrafficSource
    sessions: int
    engaged_sessions: int
    orders: int = 0  # Shopify orders (all but test) whose session this was
    purchases: int = 0  # what GA4 counts (tracked orders)
    purchase_revenue: Decimal = Decimal("0.00")  # USD, the tracked orders' total price

    def reported(self, as_of: date) -> tuple[int, int]:
        """(sessions, engaged sessions) as GA4 reports them at the end of ``as_of``."""
        if (as_of - self.day).days >= GA4_SETTLE_DAYS:
            return self.sessions, self.engaged_sessions
        return int(self.sessions * 0.96), int(self.engaged_sessions * 0.96)


@dataclass
class AbandonedCheckout:
    checkout_id: int
    token: str
    created_at: datetime
    updated_at: datetime
    email: str
    customer: ShopifyCustomer | None  # a known customer, or a guest
    lines: list[tuple[Product, int]]  # (product, quantity)
    source: TrafficSource
    utc_offset_hours: int

    @property
    def subtotal(self) -> Decimal:
        return sum((money(p.price_usd * q) for p, q in self.lines), Decimal("0.00"))


@dataclass
class MarketingWorld:
    accounts: list[AdAccount]
    campaigns: list[Campaign]
    sources: list[TrafficSource]
    ad_days: list[AdDay]  # day, then campaign order
    session_days: list[SessionDay]  # day, then source order
    order_touch: dict[int, TrafficSource]  # Shopify order id -> the source of its session
    sponsored: dict[str, Campaign]  # Amazon order id -> the Sponsored Products campaign that brought it
    checkouts: list[AbandonedCheckout] = field(default_factory=list)  # ascending id

    @cached_property
    def campaigns_by_id(self) -> dict[str, Campaign]:
        return {c.campaign_id: c for c in self.campaigns}


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


# --------------------------------------------------------------------------- accounts and campaigns

GOOGLE_MANAGER_ID = "1112223334"
GOOGLE_ACCOUNT = AdAccount("google_ads", "4561237890", "PastaPro US", "USD", manager_id=GOOGLE_MANAGER_ID)
META_US = AdAccount("meta", "1029384756", "PastaPro US", "USD")
META_EU = AdAccount("meta", "2039485761", "PastaPro Europe", "EUR")
AMAZON_PROFILES = (
    AdAccount("amazon_ads", "3601234567890123", "PastaPro US", "USD", "UTC", "ATVPDKIKX0DER", "US"),
    AdAccount("amazon_ads", "3602345678901234", "PastaPro UK", "GBP", "UTC", "A1F83G8C2ARO7P", "UK"),
    AdAccount("amazon_ads", "3603456789012345", "PastaPro DE", "EUR", "UTC", "A1PA6795UKMFR9", "DE"),
)
ACCOUNTS = (GOOGLE_ACCOUNT, META_US, META_EU, *AMAZON_PROFILES)


def _campaigns() -> list[Campaign]:
    out: list[Campaign] = []

    def google(
        n: int,
        name: str,
        kind: str,
        start: date,
        end: date | None,
        budget: str,
        sessions: float,
        cvr: float,
        ctr: float,
    ) -> None:
        cid = f"2{n:010d}"
        groups = tuple(f"1{n:05d}{g:05d}" for g in range(2))
        names = ("Exact", "Broad") if kind == "search" else ("All Products", "Best Sellers")
        out.append(
            Campaign(
                "google_ads",
                GOOGLE_ACCOUNT,
                cid,
                name,
                kind,
                start,
                end,
                Decimal(budget),
                sessions,
                cvr,
                ctr,
                groups,
                names,
            )
        )

    google(1_234_501, "Search - Brand", "search", ADS_START, None, "20", 60, 0.045, 0.11)
    google(1_234_502, "Search - Generic Pasta", "search", ADS_START, None, "45", 85, 0.022, 0.045)
    google(1_234_503, "Shopping - All Products", "shopping", ADS_START, None, "55", 150, 0.026, 0.012)
    google(1_234_504, "Shopping - Sauces", "shopping", date(2025, 3, 1), None, "25", 60, 0.024, 0.011)
    for year in (2023, 2024, 2025, 2026):  # the holiday push, a campaign of its own each year
        google(
            1_234_600 + year % 100,
            f"Search - Holiday Gifts {year}",
            "search",
            date(year, 11, 1),
            date(year, 12, 24),
            "70",
            120,
            0.03,
            0.05,
        )

    def meta(
        n: int,
        account: AdAccount,
        name: str,
        kind: str,
        start: date,
        end: date | None,
        budget: str,
        sessions: float,
        cvr: float,
        ctr: float,
    ) -> None:
        out.append(
            Campaign("meta", account, f"1202100000{n:08d}", name, kind, start, end, Decimal(budget), sessions, cvr, ctr)
        )

    meta(1, META_US, "Prospecting - Broad US", "facebook", ADS_START, None, "30", 110, 0.011, 0.009)
    meta(2, META_US, "Retargeting - Cart Viewers", "facebook", ADS_START, None, "14", 40, 0.034, 0.014)
    meta(3, META_US, "Instagram - Reels Recipes", "instagram", date(2024, 6, 1), None, "22", 90, 0.009, 0.008)
    meta(4, META_EU, "Prospecting - EU", "facebook", date(2024, 3, 1), date(2026, 6, 30), "12", 35, 0.008, 0.008)

    def sponsored(n: int, account: AdAccount, name: str, start: date, budget: str, clicks: float, cvr: float) -> None:
        out.append(
            Campaign(
                "amazon_ads",
                account,
                f"3{n:014d}",
                name,
                "sponsored_products",
                start,
                None,
                Decimal(budget),
                clicks,
                cvr,
                0.004,
                (f"4{n:014d}",),
                ("Ad group 1",),
            )
        )

    us, uk, de = AMAZON_PROFILES
    sponsored(11_000_000_001, us, "SP - Auto - All Products", ADS_START, "18", 24, 0.10)
    sponsored(11_000_000_002, us, "SP - Manual - Pasta Keywords", ADS_START, "15", 18, 0.11)
    sponsored(11_000_000_003, us, "SP - Brand Defense", date(2024, 9, 1), "7", 10, 0.16)
    sponsored(11_000_000_004, uk, "SP - Auto - UK", ADS_START, "11", 15, 0.10)
    sponsored(11_000_000_005, de, "SP - Auto - DE", date(2024, 2, 1), "9", 11, 0.09)
    return out


CAMPAIGNS = tuple(_campaigns())


def _organic_sources() -> list[tuple[TrafficSource, float]]:
    """The unpaid sources and their share of the unpaid orders."""

    def src(
        key: str,
        group: str,
        source: str,
        medium: str,
        campaign: str,
        cvr: float,
        landing: str,
        referrer: str | None,
        share: float,
        utm: bool = False,
    ) -> tuple[TrafficSource, float]:
        return TrafficSource(key, group, source, medium, campaign, cvr, landing, referrer, utm=utm), share

    return [
        src(
            "google_organic",
            "Organic Search",
            "google",
            "organic",
            "(organic)",
            0.024,
            "/collections/pasta",
            "https://www.google.com/",
            0.29,
        ),
        src(
            "bing_organic",
            "Organic Search",
            "bing",
            "organic",
            "(organic)",
            0.026,
            "/collections/pasta",
            "https://www.bing.com/",
            0.05,
        ),
        src(
            "duckduckgo_organic",
            "Organic Search",
            "duckduckgo",
            "organic",
            "(organic)",
            0.025,
            "/",
            "https://duckduckgo.com/",
            0.02,
        ),
        src("direct", "Direct", "(direct)", "(none)", "(direct)", 0.036, "/", None, 0.34),
        src("email_flow", "Email", "klaviyo", "email", "flow_abandoned_cart", 0.06, "/cart", None, 0.05, True),
        src("email_newsletter", "Email", "klaviyo", "email", "newsletter", 0.045, "/collections/new", None, 0.09, True),
        src(
            "referral_seriouseats",
            "Referral",
            "seriouseats.com",
            "referral",
            "(referral)",
            0.021,
            "/products/bucatini-500g",
            "https://www.seriouseats.com/best-dried-pasta",
            0.05,
        ),
        src(
            "referral_food52",
            "Referral",
            "food52.com",
            "referral",
            "(referral)",
            0.019,
            "/collections/sauces",
            "https://food52.com/blog/pasta-sauces",
            0.03,
        ),
        src(
            "social_instagram",
            "Organic Social",
            "l.instagram.com",
            "referral",
            "(referral)",
            0.009,
            "/",
            "https://l.instagram.com/",
            0.05,
        ),
        src(
            "social_facebook",
            "Organic Social",
            "m.facebook.com",
            "referral",
            "(referral)",
            0.008,
            "/",
            "https://m.facebook.com/",
            0.03,
        ),
    ]


def _paid_source(c: Campaign) -> TrafficSource:
    if c.platform == "google_ads":
        source, medium, referrer = "google", "cpc", "https://www.google.com/"
        landing = "/collections/all" if c.kind == "shopping" else "/"
    else:
        source = "instagram" if c.kind == "instagram" else "facebook"
        medium, referrer = "paid_social", f"https://l.{source}.com/"
        landing = "/collections/bestsellers"
    return TrafficSource(
        f"paid_{c.campaign_id}", c.channel_group, source, medium, c.utm_campaign, c.cvr, landing, referrer, c, utm=True
    )


def newsletter_name(day: date) -> str:
    """The weekly newsletter a day's email sessions come from (sent on Tuesdays)."""
    sent = day - timedelta(days=(day.weekday() - 1) % 7)
    return f"newsletter_{sent.isoformat().replace('-', '_')}"


def _newsletter_weight(day: date) -> float:
    return (1.9, 1.0, 0.8, 0.6, 0.5, 0.5, 0.7)[(day.weekday() - 1) % 7]  # sent Tuesday, read over the week


# --------------------------------------------------------------------------- the days


def _spend(c: Campaign, day: date, rng, seed: int, scale: float) -> Decimal:
    boost = 1.0
    shape = holiday_shape(day)
    if shape > 0.3:
        boost *= 1.45
    channel = "amazon" if c.platform == "amazon_ads" else "shopify"
    if promotion_on(seed, channel, day) is not None:
        boost *= 1.6 if channel == "amazon" else 1.25
    pace = rng.uniform(0.8, 1.0)
    return money(min(float(c.daily_budget) * pace * boost, 2 * float(c.daily_budget)) * scale)


def _usd_guess(c: Campaign) -> float:
    return float(FX_START.get(c.currency, Decimal(1)))


def build_marketing(config: WorldConfig, commerce: CommerceWorld) -> MarketingWorld:
    """The marketing world of ``config``; sets each Shopify order's traffic source (``order.traffic``)."""
    seed, scale = config.seed, config.scale
    organic = _organic_sources()
    paid_sources = {c.campaign_id: _paid_source(c) for c in CAMPAIGNS if c.platform != "amazon_ads"}
    sources = [*paid_sources.values(), *(s for s, _ in organic)]
    ad_days: list[AdDay] = []
    session_days: list[SessionDay] = []
    order_touch: dict[int, TrafficSource] = {}
    sponsored: dict[str, Campaign] = {}
    checkouts: list[AbandonedCheckout] = []
    shop_by_day: dict[date, list[ShopifyOrder]] = defaultdict(list)
    for o in commerce.shopify_orders:
        shop_by_day[o.created_at.date()].append(o)
    amazon_by_day: dict[date, list] = defaultdict(list)
    for a in commerce.amazon_orders:
        amazon_by_day[a.purchase_date.date()].append(a)
    newsletters: dict[str, TrafficSource] = {}
    customers_so_far: list[ShopifyCustomer] = []
    customer_ix = 0
    customers = commerce.shopify_customers
    for day_index, day in days(config):
        rng = rng_for(seed, "marketing", day)
        day_ads: dict[str, AdDay] = {}
        # 1-2: the campaigns' spend, clicks and sessions
        for c in CAMPAIGNS:
            if not c.active_on(day):
                continue
            spend = _spend(c, day, rng, seed, scale)
            ref = float(c.daily_budget) * scale
            reach = c.ref_sessions * scale * (float(spend) / ref) ** SESSION_ELASTICITY if ref else 0.0
            reach *= math.exp(rng.gauss(0, 0.08))
            if c.platform == "amazon_ads":
                clicks, sessions = max(0, round(reach)), 0
            else:
                sessions = max(0, round(reach))
                clicks = round(sessions * rng.uniform(1.08, 1.25))
            impressions = round(clicks / (c.ctr * rng.uniform(0.85, 1.15))) if clicks else rng.randint(0, 40)
            credit = money(spend * SPEND_CREDIT) if c.platform in SPEND_CREDIT_DAYS else Decimal("0.00")
            shares = tuple(round(rng.uniform(0.35, 0.65), 3) for _ in c.ad_group_ids[:-1])
            day_ads[c.campaign_id] = AdDay(
                day, c, spend, impressions, clicks, sessions, credit=credit, ad_group_shares=shares
            )
        # 3: the store's sources and their expected orders
        weekday = WEEKDAY_CVR[day.weekday()]
        promo = PROMOTION_CVR if promotion_on(seed, "shopify", day) is not None else 1.0
        lam = daily_mean(seed, "shopify", day, SHOPIFY_ORDERS_PER_DAY * scale)
        expected: list[tuple[TrafficSource, float, float]] = []  # (source, expected orders, sessions)
        paid_e = 0.0
        for cid, ad in day_ads.items():
            if ad.campaign.platform == "amazon_ads":
                continue
            src = paid_sources[cid]
            e = ad.sessions * src.cvr * weekday * promo
            paid_e += e
            expected.append((src, e, ad.sessions))
        if paid_e > 0.6 * lam:  # the store's orders are what they are: paid cannot bring more than 60 % of them
            factor = 0.6 * lam / paid_e
            expected = [(s, e * factor, n) for s, e, n in expected]
            paid_e = 0.6 * lam
        unpaid = lam - paid_e
        mix = [(s, share * (_newsletter_weight(day) if s.key == "email_newsletter" else 1.0)) for s, share in organic]
        total_share = sum(w for _, w in mix)
        for s, w in mix:
            if s.key == "email_newsletter":
                name = newsletter_name(day)
                if name not in newsletters:
                    newsletters[name] = TrafficSource(
                        f"email_{name}", "Email", "klaviyo", "email", name, s.cvr, s.landing_path, None, utm=True
                    )
                    sources.append(newsletters[name])
                s = newsletters[name]
            e = unpaid * w / total_share
            n = e / (s.cvr * weekday * promo) * math.exp(rng.gauss(0, 0.06))
            expected.append((s, e, n))
        # 4: every order's source (a stream of its own), then the sessions that brought them
        orders_of: dict[str, int] = defaultdict(int)
        value_of: dict[str, Decimal] = defaultdict(Decimal)
        tracked_of: dict[str, int] = defaultdict(int)
        revenue_of: dict[str, Decimal] = defaultdict(Decimal)
        touch_rng = rng_for(seed, "shopify-touch", day)
        weights = [max(e, 0.0) for _, e, _ in expected]
        total_w = sum(weights)
        for o in shop_by_day.get(day, ()):
            pick, tracked = touch_rng.random(), touch_rng.random()
            src = _pick(expected, weights, total_w, pick)
            order_touch[o.order_id] = src
            o.traffic = src
            if o.test:
                continue
            orders_of[src.key] += 1
            total = o.gross - o.discount_total + o.shipping + o.tax
            if o.cancelled_at is None:
                value_of[src.key] += total
            if tracked < GA4_TRACKED:
                tracked_of[src.key] += 1
                revenue_of[src.key] += total
        # abandoned checkouts from the same sources
        crng = rng_for(seed, "shopify-checkouts", day)
        while customer_ix < len(customers) and customers[customer_ix].created_at.date() < day:
            customers_so_far.append(customers[customer_ix])
            customer_ix += 1
        n_abandoned = poisson(crng, lam * crng.uniform(*ABANDONED_PER_ORDER))
        checkouts_of: dict[str, int] = defaultdict(int)
        for k in range(n_abandoned):
            src = _pick(expected, weights, total_w, crng.random())
            checkouts_of[src.key] += 1
            created = at_utc(day, crng.randrange(86_400))
            known = customers_so_far and crng.random() < 0.35
            customer = crng.choice(customers_so_far) if known else None
            lines = [
                (crng.choice(commerce.products), crng.choice((1, 1, 2, 3))) for _ in range(crng.choice((1, 1, 2, 3)))
            ]
            checkout_id = 37_000_000_000_000 + day_index * 10_000 + k
            email = customer.email if customer else f"guest.{checkout_id % 10**9}@mail.example"
            checkouts.append(
                AbandonedCheckout(
                    checkout_id=checkout_id,
                    token=f"{(checkout_id * 2654435761) % 16**32:032x}",
                    created_at=created,
                    updated_at=created + timedelta(minutes=crng.randint(1, 90)),
                    email=email,
                    customer=customer,
                    lines=lines,
                    source=src,
                    utc_offset_hours=customer.utc_offset_hours if customer else crng.choice((-5, -6, -8, 0, 1)),
                )
            )
        # GA4's rows of the day
        for src, _, n in expected:
            orders = orders_of.get(src.key, 0)
            sessions = max(round(n), orders + checkouts_of.get(src.key, 0))
            if sessions == 0:
                continue
            engaged = min(sessions, max(orders, round(sessions * rng.uniform(0.52, 0.7))))
            session_days.append(
                SessionDay(
                    day,
                    src,
                    sessions,
                    engaged,
                    orders,
                    tracked_of.get(src.key, 0),
                    revenue_of.get(src.key, Decimal("0.00")),
                )
            )
            if src.campaign_ref is not None:
                ad = day_ads[src.campaign_ref.campaign_id]
                ad.sessions = sessions
                ad.true_orders = orders_of.get(src.key, 0)
                ad.true_value = value_of.get(src.key, Decimal("0.00"))
        # 5: sponsored Amazon orders
        arng = rng_for(seed, "amazon-ads-touch", day)
        amazon_mean = daily_mean(seed, "amazon", day, AMAZON_ORDERS_PER_DAY * scale)
        for a in amazon_by_day.get(day, ()):
            pick, which = arng.random(), arng.random()
            ads = [ad for ad in day_ads.values() if ad.campaign.account.marketplace_id == a.marketplace_id]
            if not ads or a.status == "Canceled":
                continue
            share = _market_share(a.marketplace_id)
            clicks = sum(ad.clicks for ad in ads)
            p = min(0.5, sum(ad.clicks * ad.campaign.cvr for ad in ads) / max(amazon_mean * share, 1e-9))
            if pick >= p or clicks == 0:
                continue
            cut, chosen = which * clicks, ads[-1]
            for ad in ads:
                if cut < ad.clicks:
                    chosen = ad
                    break
                cut -= ad.clicks
            sponsored[a.order_id] = chosen.campaign
            chosen.true_orders += 1
            chosen.true_value += a.gross
        # 6: what the platforms report (final)
        for ad in day_ads.values():
            lo, hi = OVERCOUNT[ad.campaign.platform]
            over = rng.uniform(lo, hi)
            conv = Decimal(str(round(ad.true_orders * over + (rng.random() * 0.6 if ad.true_orders else 0), 2)))
            if ad.campaign.platform in WHOLE_CONVERSIONS:
                conv = conv.quantize(Decimal(1), rounding=ROUND_HALF_UP)
            avg = ad.true_value / ad.true_orders if ad.true_orders else Decimal(0)
            if ad.campaign.platform == "meta" and ad.campaign.currency != "USD":
                avg = avg / FX_START[ad.campaign.currency]  # EU buyers' orders, valued in the account's currency
            ad.platform_conversions = conv
            ad.platform_value = money(conv * avg * Decimal(str(round(rng.uniform(0.95, 1.10), 4))))
            ad_days.append(ad)
    return MarketingWorld(
        list(ACCOUNTS), list(CAMPAIGNS), sources, ad_days, session_days, order_touch, sponsored, checkouts
    )


def _market_share(marketplace_id: str) -> float:
    from sandbox.commerce_world import AMAZON_MARKETPLACES

    return AMAZON_MARKETPLACES[marketplace_id][3]


def _pick(
    expected: list[tuple[TrafficSource, float, float]], weights: list[float], total: float, u: float
) -> TrafficSource:
    cut = u * total
    for (src, _, _), w in zip(expected, weights):
        if cut < w:
            return src
        cut -= w
    return expected[-1][0]


# --------------------------------------------------------------------------- attribution (the truth's recount)


def attribute(orders: list[ShopifyOrder], touch: dict[int, TrafficSource]) -> dict[int, TrafficSource]:
    """The touch each sales order is credited to (last non-direct click): its own session's source unless that
    was direct, then the own (non-direct) touch of the same customer's latest earlier order among ``orders``
    whose session was not direct, if that order is at most ``DIRECT_LOOKBACK_DAYS`` days older; else direct. ``orders`` are the sales orders (not test, not cancelled) in creation order."""
    out: dict[int, TrafficSource] = {}
    last_touch: dict[int, tuple[datetime, TrafficSource]] = {}
    for o in sorted(orders, key=lambda o: (o.created_at, o.order_id)):
        src = touch[o.order_id]
        cid = o.customer.customer_id
        if src.is_direct:
            prior = last_touch.get(cid)
            if prior is not None and o.created_at - prior[0] <= timedelta(days=DIRECT_LOOKBACK_DAYS):
                out[o.order_id] = prior[1]
                continue
            out[o.order_id] = src
            continue
        out[o.order_id] = src
        last_touch[cid] = (o.created_at, src)
    return out


__all__ = [
    "ACCOUNTS",
    "CAMPAIGNS",
    "DIRECT_LOOKBACK_DAYS",
    "HISTORY_START",
    "PLATFORMS",
    "AbandonedCheckout",
    "AdAccount",
    "AdDay",
    "Campaign",
    "MarketingWorld",
    "SessionDay",
    "TrafficSource",
    "attribute",
    "build_marketing",
]
