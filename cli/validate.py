"""Checks each ``salesdw`` command runs on its options and configuration before doing any work.

Each check raises ``UsageError`` (an option) or ``ConfigError`` (the environment, .dlt) with one line that
names what is wrong and what to do; none echoes a secret (a DSN is parsed, never quoted).
"""

from __future__ import annotations

import argparse
import math
import os
import socket
from pathlib import Path

from cli.errors import ConfigError, UsageError
from core.settings import Settings, SettingsError, env_var

DSN_ENV = env_var("postgres_dsn")
DUCKDB_PATH_ENV = env_var("duckdb_path")


def check_settings() -> Settings:
    """Every SALESDW_* variable parses (core.settings names the variable; its messages quote no secret)."""
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise ConfigError(f"{exc}: fix or unset the variable") from None


def check_world(args: argparse.Namespace) -> None:
    """--seed / --scale / --as-of / --slow-s of a sandbox world."""
    from sandbox.sim import HISTORY_START

    if not (math.isfinite(args.scale) and args.scale > 0):
        raise UsageError(
            f"--scale {args.scale:g} must be a number greater than 0 (1 is the full demo company, 0.01 a tiny one)"
        )
    if args.seed < 0:
        raise UsageError(f"--seed {args.seed} must be 0 or more")
    if args.as_of <= HISTORY_START:
        raise UsageError(
            f"--as-of {args.as_of} is not after the sandbox's first day {HISTORY_START}: pick a later date"
        )
    if not (math.isfinite(args.slow_s) and args.slow_s >= 0):
        raise UsageError(f"--slow-s {args.slow_s:g} must be 0 or more seconds")


def check_port(host: str, port: int, *, must_be_free: bool, option: str = "--port") -> None:
    if not 0 <= port <= 65535:
        raise UsageError(f"{option} {port} is not a TCP port (0-65535)")
    if not must_be_free or port == 0:
        return
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except socket.gaierror:
            raise UsageError(f"--host {host} is not a known host name or address") from None
        except OSError:
            raise UsageError(
                f"port {port} on {host} is already in use: stop what holds it or pick another {option}"
            ) from None


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_writable_file(path: Path, what: str) -> None:
    """``path`` is (or can be created as) a writable file: not a folder, its folder creatable and writable."""
    if path.is_dir():
        raise ConfigError(f"{what} {path} is a directory: point it at a file, e.g. {path / 'warehouse.duckdb'}")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise ConfigError(f"{what} {path} is not writable: fix its permissions or choose another file")
        return
    existing = _nearest_existing(path.parent)
    if not existing.is_dir():
        raise ConfigError(f"{what} {path}: cannot create its folder, {existing} is a file: choose another location")
    try:  # the command would create the folder anyway; creating it now is the one reliable test
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"{what} {path}: cannot create the folder {path.parent} ({exc.strerror}): choose a writable location"
        ) from None
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{what} {path}: the folder {path.parent} is not writable: choose a writable location")


def check_duckdb_path(settings: Settings) -> None:
    """The warehouse file (and the folder beside it that holds dlt's pipeline state) can be written."""
    check_writable_file(settings.duckdb_path, DUCKDB_PATH_ENV)


def check_dagster_home() -> None:
    raw = os.environ.get("DAGSTER_HOME")
    if not raw:
        return
    home = Path(raw).expanduser()
    if home.exists() and not home.is_dir():
        raise ConfigError(f"DAGSTER_HOME {home} is a file: point it at a folder (or unset it for data/dagster_home)")
    existing = _nearest_existing(home)
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"DAGSTER_HOME {home} cannot be written: choose a writable folder")


def _describe_dsn_problem(dsn: str) -> str:
    """What is wrong with a DSN that libpq refuses, without quoting any of it."""
    if "://" in dsn and dsn.split("://", 1)[0] not in ("postgresql", "postgres"):
        return "its URL scheme is not postgresql://"
    if "://" not in dsn and "=" not in dsn:
        return "it is neither a postgresql:// URL nor key=value pairs"
    return "libpq cannot parse it"


def check_dsn(dsn: str | None, source: str = DSN_ENV) -> None:
    """A libpq DSN or URL that parses, with a numeric port; the value itself is never printed."""
    if not dsn:
        return
    from psycopg2.extensions import parse_dsn

    try:
        params = parse_dsn(dsn)
    except Exception:  # psycopg2's message quotes part of the string (possibly the password)
        raise ConfigError(
            f"{source} is not a valid PostgreSQL DSN ({_describe_dsn_problem(dsn)}; value not shown): "
            "use postgresql://USER:PASSWORD@HOST:5432/DBNAME or 'host=HOST port=5432 dbname=DBNAME user=USER'"
        ) from None
    port = params.get("port")
    if port is not None and not port.isdigit():
        raise ConfigError(f"{source} has a port that is not a number (value not shown): use e.g. port=5432")


def check_pg_env() -> None:
    port = os.environ.get("PGPORT")
    if port and not port.isdigit():
        raise ConfigError(f"PGPORT={port!r} is not a port number: set e.g. PGPORT=5432 or unset it")


def check_postgres_target(settings: Settings) -> None:
    check_dsn(settings.postgres_dsn)
    check_pg_env()


def unconfigured_sources() -> dict[str, str]:
    """Sources with none of their settings in dlt's config (env SOURCES__<SECTION>__<KEY>, .dlt/*.toml):
    source key -> an example variable that configures it."""
    import dlt
    from dlt.common.typing import AnyType

    from ingestion.pipelines import SOURCES

    # the providers themselves, not dlt.config.get: that records the values it resolves, and dlt writes them
    # (a token included) into every pipeline's trace of this process
    providers = dlt.config.config_providers
    missing: dict[str, str] = {}
    for key, spec in SOURCES.items():
        section = spec.factory.section or spec.factory.name
        fields = [k for k, v in spec.placeholders.items() if v is not None]
        found = False
        for name in fields:
            for provider in providers:
                try:
                    value, _ = provider.get_value(name, AnyType, None, "sources", section)
                except Exception:  # a provider that cannot read the value: configured, the step will say more
                    value = True
                if value is not None:
                    found = True
                    break
            if found:
                break
        if not found:
            missing[key] = f"SOURCES__{section.upper()}__{fields[0].upper()}"
    return missing


def check_sources() -> None:
    """``run --no-sandbox``: every source the main job loads is configured."""
    from ingestion.pipelines import SOURCES

    missing = unconfigured_sources()
    if not missing:
        return
    if len(missing) == len(SOURCES):
        raise ConfigError(
            "no source is configured: set SOURCES__<SOURCE>__… (e.g. SOURCES__SHOPIFY__SHOP_URL and its token) "
            "in the environment or .dlt/secrets.toml, or drop --no-sandbox"
        )
    names = ", ".join(f"{k} ({v})" for k, v in missing.items())
    raise ConfigError(f"sources not configured: {names}: set them in the environment or .dlt/, or drop --no-sandbox")


def check_out_file(out: str | None, option: str = "--out") -> None:
    if out:
        check_writable_file(Path(out).expanduser().resolve(), option)


def validate(args: argparse.Namespace) -> None:
    """All checks of the command in ``args`` (parsed options), before it starts."""
    command = args.command
    settings = check_settings()
    if command == "sandbox":
        check_world(args)
        if args.sandbox_command == "serve":
            check_port(args.host, args.port, must_be_free=True)
        else:
            check_out_file(args.out)
        return
    if command == "run":
        check_world(args)
        check_port("127.0.0.1", args.port, must_be_free=False)  # a taken port: run picks a free one
        check_dagster_home()
        check_duckdb_path(settings)
        if args.target == "postgres":
            check_postgres_target(settings)
        if args.no_sandbox:
            check_sources()
        return
    if command == "ui":
        check_port(args.host, args.port, must_be_free=True)
        check_dagster_home()
        check_duckdb_path(settings)
        if settings.target == "postgres":
            check_postgres_target(settings)
        return
    if command == "grants":
        if args.target == "postgres":
            check_dsn(args.dsn, "--dsn") if args.dsn else check_postgres_target(settings)
        return
    if command == "bi-snapshot":
        check_out_file(args.out)
