"""Request/response values shared by the sandbox's API modules, and small helpers they all use."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any


@dataclass
class Request:
    """``query`` holds one value per parameter (the last, for a repeated one): the accessor for single-valued
    parameters. ``pairs`` keeps every ``(name, value)`` of the query string in order (None: built from
    ``query``); list-valued parameters are read with :meth:`values`."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""
    base_url: str = "http://127.0.0.1:8700"
    pairs: tuple[tuple[str, str], ...] | None = None

    @classmethod
    def parse_query(cls, text: str) -> tuple[dict[str, str], tuple[tuple[str, str], ...]]:
        """``(query, pairs)`` of a query string."""
        from urllib.parse import parse_qsl

        pairs = tuple(parse_qsl(text))
        return dict(pairs), pairs

    def all_pairs(self) -> tuple[tuple[str, str], ...]:
        return self.pairs if self.pairs is not None else tuple(self.query.items())

    def has(self, name: str) -> bool:
        return any(k in (name, f"{name}[]") for k, _ in self.all_pairs())

    def values(self, name: str, comma: bool = True) -> list[str] | None:
        """Every value of the list-valued parameter ``name``, in order, duplicates dropped: repeated
        (``a=x&a=y``), in Rails' bracket form (``a[]=x&a[]=y``) and, with ``comma``, comma-separated
        (``a=x,y``), or any mix of them. None when the parameter is absent; blank items are dropped."""
        raw = [v for k, v in self.all_pairs() if k in (name, f"{name}[]")]
        if not raw:
            return None
        items = [part.strip() for v in raw for part in (v.split(",") if comma else [v])]
        return list(dict.fromkeys(i for i in items if i))

    def form(self) -> dict[str, str]:
        from urllib.parse import parse_qsl

        return dict(parse_qsl(self.body.decode()))

    def json(self) -> Any:
        return json.loads(self.body or b"{}")


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    file: str | None = None  # a body streamed from this file (a bulk operation's JSONL), from file_offset on
    file_offset: int = 0

    def encode(self) -> bytes:
        if isinstance(self.body, bytes):  # a file (a gzipped report) or an XML error, sent as it is
            return self.body
        return json.dumps(self.body, default=_json_default, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Route:
    """``handler(req, world, **path_groups)`` serves ``method`` on paths matching ``pattern``, in rate-limit ``bucket``."""

    method: str
    pattern: re.Pattern[str]
    bucket: str
    handler: Callable[..., Response]


def route(method: str, pattern: str, bucket: str, handler: Callable[..., Response]) -> Route:
    return Route(method, re.compile(pattern), bucket, handler)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value)}")


def encode_cursor(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(token: str) -> dict[str, Any]:
    try:
        return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, json.JSONDecodeError) as exc:
        raise ValueError(f"invalid cursor {token!r}") from exc


def iso_z(at: datetime, millis: bool = False) -> str:
    """UTC ISO-8601 with a ``Z``, as HubSpot and Amazon write timestamps."""
    text = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{at.microsecond // 1000:03d}Z" if millis else "Z")


def iso_offset(at: datetime, offset_hours: int) -> str:
    """Local time with its UTC offset, as Shopify writes timestamps (``2026-03-01T10:00:00-05:00``)."""
    return at.astimezone(timezone(timedelta(hours=offset_hours))).isoformat(timespec="seconds")


def parse_time(text: str) -> datetime:
    """ISO-8601 with ``Z`` or an offset; a naive value is taken as UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace(" ", "+"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_int(query: dict[str, str], name: str, default: int, maximum: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    value = int(raw)
    if not 1 <= value <= maximum:
        raise ValueError(f"{name} must be between 1 and {maximum}")
    return value
