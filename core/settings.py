"""Every ``SALESDW_*`` environment variable, read in one place into one typed object.

``Settings.from_env()`` reads the environment when called (never at import), so a process that changes
its environment (the CLI choosing a target, a test pointing at a scratch warehouse) sees the change.
Each field's metadata names its variable and says what it does; the README's settings table lists the
same variables (a test keeps the two in step). Values the dbt project or ``dagster.yaml`` read
themselves are still declared here, so that the one table is complete and a bad value is refused here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any

from core.paths import DEFAULT_DUCKDB_PATH

TARGETS = ("duckdb", "postgres")
ASSET_METADATA_LEVELS = ("full", "counts", "off")


class SettingsError(ValueError):
    """A variable holds a value the project cannot use; the message names the variable."""


def _setting(env: str, doc: str, *, read_by: str = "python", secret: bool = False, default_doc: str = "") -> Any:
    return field(metadata={"env": env, "doc": doc, "read_by": read_by, "secret": secret, "default_doc": default_doc})


@dataclass(frozen=True)
class Settings:
    target: str = _setting(
        "SALESDW_TARGET", "warehouse target: `duckdb` or `postgres` (`salesdw run --target`)", default_doc="duckdb"
    )
    duckdb_path: Path = _setting(
        "SALESDW_DUCKDB_PATH",
        "the DuckDB warehouse file; its folder also holds dlt's pipeline state",
        default_doc="data/warehouse.duckdb",
    )
    postgres_dsn: str | None = _setting(
        "SALESDW_POSTGRES_DSN",
        "PostgreSQL warehouse as a libpq URL or `key=value` string (else the PG* variables)",
        secret=True,
    )
    dbt_target: str | None = _setting(
        "SALESDW_DBT_TARGET",
        "dbt profile target when it differs from SALESDW_TARGET",
        read_by="dbt (profiles.yml)",
        default_doc="SALESDW_TARGET",
    )
    dbt_asset_metadata: str = _setting(
        "SALESDW_DBT_ASSET_METADATA",
        "what dbt assets record after a build: `full` (row counts, column schema, lineage), `counts` or `off`",
        default_doc="full",
    )
    http_timeout_s: float = _setting(
        "SALESDW_HTTP_TIMEOUT_S", "seconds before a source's read is abandoned and retried", default_doc="30"
    )
    load_memory_limit: str = _setting(
        "SALESDW_LOAD_MEMORY_LIMIT",
        "DuckDB memory limit of a dlt load into the DuckDB warehouse (past it DuckDB spills to disk)",
        default_doc="256MB",
    )
    extract_ahead: str = _setting(
        "SALESDW_EXTRACT_AHEAD",
        "`on`: `salesdw run` extracts the sources in a child process ahead of their loads (the loads stay one at a "
        "time); `off`: each source extracts in its own load step",
        default_doc="on",
    )
    alerts_file: Path | None = _setting(
        "SALESDW_ALERTS_FILE", "JSON-lines file the failed-run sensor appends to (unset: log only)"
    )
    bi_reader_password: str | None = _setting(
        "SALESDW_BI_READER_PASSWORD",
        "LOGIN password of the `bi_reader` role (`salesdw grants`); unset: NOLOGIN",
        secret=True,
    )
    finance_reader_password: str | None = _setting(
        "SALESDW_FINANCE_READER_PASSWORD", "LOGIN password of the `finance_reader` role; unset: NOLOGIN", secret=True
    )
    close_after_days: int = _setting(
        "SALESDW_CLOSE_AFTER_DAYS",
        "a finance month closes automatically this many days after its end",
        read_by="dbt (dbt_project.yml)",
        default_doc="5",
    )
    close_reference_date: date | None = _setting(
        "SALESDW_CLOSE_REFERENCE_DATE",
        "the day the automatic close counts to (YYYY-MM-DD)",
        read_by="dbt (dbt_project.yml)",
        default_doc="today",
    )
    dagster_db: str | None = _setting(
        "SALESDW_DAGSTER_DB",
        "PostgreSQL database of Dagster's storage when the PostgreSQL block of dagster.yaml is enabled",
        read_by="dagster.yaml",
    )
    require_postgres: bool = _setting(
        "SALESDW_REQUIRE_POSTGRES",
        "tests: `1` makes a missing PostgreSQL server a failure instead of a skip (CI sets it)",
        read_by="tests",
    )
    require_browser: bool = _setting(
        "SALESDW_REQUIRE_BROWSER", "tests: `1` makes a missing Chromium a failure (CI sets it)", read_by="tests"
    )
    report_dir: Path | None = _setting(
        "SALESDW_REPORT_DIR", "tests: folder for the cross-target and permission reports they write", read_by="tests"
    )
    hubspot_specs: Path | None = _setting(
        "SALESDW_HUBSPOT_SPECS",
        "tests: a copy of HubSpot's public API spec "
        "collection (not redistributable, so not in the repo) for the HubSpot "
        "contract tests; unset: the search tool's mirror, else they skip",
        read_by="tests",
    )
    screenshot_dir: Path | None = _setting(
        "SALESDW_SCREENSHOT_DIR",
        "tests: folder for the UI test's screenshots (default: a temporary folder)",
        read_by="tests",
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings of this environment (default: the process's), validated; empty values count as unset."""
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name)
            return value if value not in (None, "") else None

        def number(name: str, kind: type, default: Any) -> Any:
            raw = get(name)
            if raw is None:
                return default
            try:
                value = kind(raw)
            except ValueError:
                raise SettingsError(f"{name}={raw!r} is not a {kind.__name__}") from None
            if value < 0:
                raise SettingsError(f"{name}={raw!r} must not be negative")
            return value

        def choice(name: str, options: tuple[str, ...], default: str) -> str:
            value = get(name) or default
            if value not in options:
                raise SettingsError(f"{name}={value!r}: expected one of {', '.join(options)}")
            return value

        def path(name: str) -> Path | None:
            raw = get(name)
            return Path(raw).expanduser().resolve() if raw else None

        def memory(name: str, default: str) -> str:
            value = (get(name) or default).strip()
            if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", value, re.IGNORECASE):
                raise SettingsError(f"{name}={value!r}: expected an amount of memory such as 256MB or 2GB")
            return value

        reference = get("SALESDW_CLOSE_REFERENCE_DATE")
        try:
            reference_date = date.fromisoformat(reference) if reference else None
        except ValueError:
            raise SettingsError(f"SALESDW_CLOSE_REFERENCE_DATE={reference!r} is not a date (YYYY-MM-DD)") from None
        target = choice("SALESDW_TARGET", TARGETS, "duckdb")
        dbt_target = get("SALESDW_DBT_TARGET")
        if dbt_target is not None:
            choice("SALESDW_DBT_TARGET", TARGETS, "duckdb")
        return cls(
            target=target,
            duckdb_path=path("SALESDW_DUCKDB_PATH") or DEFAULT_DUCKDB_PATH,
            postgres_dsn=get("SALESDW_POSTGRES_DSN"),
            dbt_target=dbt_target,
            dbt_asset_metadata=choice("SALESDW_DBT_ASSET_METADATA", ASSET_METADATA_LEVELS, "full"),
            http_timeout_s=number("SALESDW_HTTP_TIMEOUT_S", float, 30.0),
            load_memory_limit=memory("SALESDW_LOAD_MEMORY_LIMIT", "256MB"),
            extract_ahead=choice("SALESDW_EXTRACT_AHEAD", ("on", "off"), "on"),
            alerts_file=path("SALESDW_ALERTS_FILE"),
            bi_reader_password=get("SALESDW_BI_READER_PASSWORD"),
            finance_reader_password=get("SALESDW_FINANCE_READER_PASSWORD"),
            close_after_days=number("SALESDW_CLOSE_AFTER_DAYS", int, 5),
            close_reference_date=reference_date,
            dagster_db=get("SALESDW_DAGSTER_DB"),
            require_postgres=get("SALESDW_REQUIRE_POSTGRES") == "1",
            require_browser=get("SALESDW_REQUIRE_BROWSER") == "1",
            report_dir=path("SALESDW_REPORT_DIR"),
            hubspot_specs=path("SALESDW_HUBSPOT_SPECS"),
            screenshot_dir=path("SALESDW_SCREENSHOT_DIR"),
        )

    def __repr__(self) -> str:  # secrets never reach a log through a repr
        shown = ", ".join(
            f"{f.name}={'***' if f.metadata['secret'] and getattr(self, f.name) else getattr(self, f.name)!r}"
            for f in fields(self)
        )
        return f"Settings({shown})"


def settings() -> Settings:
    """The current process's settings (read now, not cached: the environment may have changed)."""
    return Settings.from_env()


def env_var(field_name: str) -> str:
    """The environment variable behind a settings field (for code that sets one for a subprocess)."""
    return next(f.metadata["env"] for f in fields(Settings) if f.name == field_name)


def settings_table() -> str:
    """The README's table of settings, rendered from the fields (markdown)."""
    lines = ["| variable | default | read by | what it does |", "|---|---|---|---|"]
    for f in fields(Settings):
        meta = f.metadata
        default = f"`{meta['default_doc']}`" if meta["default_doc"] else "unset"
        secret = " (secret: never logged)" if meta["secret"] else ""
        lines.append(f"| `{meta['env']}` | {default} | {meta['read_by']} | {meta['doc']}{secret} |")
    return "\n".join(lines)
