"""ECB-style FX reference rates into ``raw_fx.rates``: USD per unit of each currency, business days."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import dlt

from ingestion.http.client import rest_client
from ingestion.incremental import UpdateCursor, incremental_pages

CURRENCIES = ("EUR", "GBP", "CAD")


@dlt.source(name="fx")
def fx_source(
    base_url: str = dlt.config.value,
    currencies: tuple[str, ...] = CURRENCIES,
    start_date: str = "2023-11-01",
    end_date: str | None = None,
    lookback_days: int = 7,
) -> Any:
    client = rest_client("fx", "rates", base_url)

    @dlt.resource(
        name="rates",
        primary_key=("rate_date", "base_currency", "quote_currency"),
        write_disposition="merge",
        columns={"rate": {"data_type": "decimal", "precision": 18, "scale": 8}},
    )
    def rates() -> Iterator[list[dict[str, Any]]]:
        cursor = UpdateCursor(start_date, timedelta(days=lookback_days), key="last_rate_date")
        start = cursor.start.date()
        end = date.fromisoformat(end_date) if end_date else datetime.now(UTC).date()

        def per_currency() -> Iterator[list[dict[str, Any]]]:
            for base in currencies:  # base=X&symbols=USD: USD per unit of X, exact as published
                response = client.get(
                    f"fx/v1/{start.isoformat()}..{end.isoformat()}", params={"base": base, "symbols": "USD"}
                )
                body = json.loads(response.content, parse_float=Decimal)
                yield [
                    {"rate_date": day, "base_currency": base, "quote_currency": "USD", "rate": Decimal(str(r["USD"]))}
                    for day, r in body["rates"].items()
                ]

        yield from incremental_pages(cursor, per_currency(), lambda row: row["rate_date"])

    return rates
