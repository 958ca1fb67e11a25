"""ECB-style reference rates (docs/architecture.md: API contracts): ``/fx/v1/{day}`` and ``/fx/v1/{start}..{end}``, business days only."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sandbox.protocol import Request, Response, route
from sandbox.ratelimit import TokenBucket
from sandbox.sim import FX_CURRENCIES, RATE_QUANTUM
from sandbox.world import World

CURRENCIES = ("USD", *FX_CURRENCIES)


def _rate(usd_per_unit: dict[str, Decimal], base: str, quote: str) -> Decimal:
    """Units of ``quote`` per one ``base``; USD-based crosses are exact for base=X, symbols=USD."""
    per = {"USD": Decimal(1), **usd_per_unit}
    if quote == "USD":
        return per[base]
    return (per[base] / per[quote]).quantize(RATE_QUANTUM, rounding=ROUND_HALF_UP)


def get_rates(req: Request, world: World, span: str) -> Response:
    base = req.query.get("base", "USD").upper()
    # a comma-separated list (Frankfurter's form); repeated symbols=A&symbols=B is honoured too
    symbols = [s.upper() for s in (req.values("symbols") or CURRENCIES) if s.upper() != base]
    unknown = [c for c in [base, *symbols] if c not in CURRENCIES]
    if unknown:
        return Response(422, {"message": f"unsupported currency: {','.join(unknown)}"})
    try:
        start_text, _, end_text = span.partition("..")
        start = date.fromisoformat(start_text)
        end = date.fromisoformat(end_text) if end_text else start
    except ValueError:
        return Response(400, {"message": f"invalid date range: {span}"})
    if end > world.config.as_of:
        end = world.config.as_of
    days = sorted(d for d in world.fx if start <= d <= end)
    rates = {d.isoformat(): {s: _rate(world.fx[d], base, s) for s in symbols} for d in days}
    if "..." not in span and ".." not in span:  # a single day: that day's rate or the last earlier one
        probe = [d for d in world.fx if d <= start]
        if not probe:
            return Response(404, {"message": "no rate on or before that date"})
        day = max(probe)
        return Response(
            200,
            {
                "amount": 1.0,
                "base": base,
                "date": day.isoformat(),
                "rates": {s: _rate(world.fx[day], base, s) for s in symbols},
            },
        )
    return Response(
        200,
        {
            "amount": 1.0,
            "base": base,
            "start_date": days[0].isoformat() if days else start_text,
            "end_date": days[-1].isoformat() if days else end_text,
            "rates": rates,
        },
    )


# --- vendor wiring: routes, auth, rate limits (the server is generic) ---
NAME = "fx"
LIST_PARAMS = {"rates": ("symbols",)}  # comma-separated; repeats too
LIMITS = {"fx": {"real": (1000, 100.0), "demo": (1000, 100.0)}}


def authorize(app: object, req: Request) -> Response | None:
    return None  # public reference rates


def throttled(bucket: str, wait_s: float) -> Response:
    return Response(429, {"message": "too many requests"}, {"Retry-After": str(max(1, round(wait_s)))})


def limit_headers(bucket: str, state: TokenBucket) -> dict[str, str]:
    return {}


ROUTES = [route("GET", r"/fx/v1/(?P<span>[0-9-]+(?:\.\.[0-9-]+)?)", "fx", get_rates)]
