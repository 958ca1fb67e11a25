"""How a ``salesdw`` command fails: one line on stderr naming what is wrong and what to do, and an exit code.

Exit 2: a usage or configuration error, found before any work starts (``UsageError``, ``ConfigError``, and
argparse's own errors). Exit 1: the run itself failed (``RunFailure``, or any unexpected exception).
Tracebacks are printed only with ``--log-level DEBUG``; the Dagster run log always keeps them.
Every line printed here passes ``redact``: no configured secret (DSN, passwords, source tokens) reaches
the terminal, even when an exception quotes one.
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from collections.abc import Iterable, Mapping

USAGE_EXIT = 2
FAILURE_EXIT = 1

# dlt config keys that hold credentials (SOURCES__<SOURCE>__<KEY>) and the other variables that do
SECRET_KEY = re.compile(r"(TOKEN|SECRET|PASSWORD|API_KEY|CREDENTIALS|DSN)$", re.IGNORECASE)
SECRET_VARS = ("SALESDW_POSTGRES_DSN", "PGPASSWORD", "SALESDW_BI_READER_PASSWORD", "SALESDW_FINANCE_READER_PASSWORD")


class CliError(Exception):
    """A failure the user can act on; ``str(self)`` is the one line printed."""

    exit_code = FAILURE_EXIT


class UsageError(CliError):
    """An option's value cannot be used (a scale of 0, a port in use)."""

    exit_code = USAGE_EXIT


class ConfigError(CliError):
    """The configuration (environment, .dlt) cannot be used (an unparseable DSN, no source configured)."""

    exit_code = USAGE_EXIT


class RunFailure(CliError):
    """The work started and failed (a step, a check, a reconciliation)."""

    exit_code = FAILURE_EXIT


def secret_values(env: Mapping[str, str] | None = None) -> list[str]:
    """Configured secret values: whole DSNs, passwords (also the one inside the DSN) and source credentials."""
    env = os.environ if env is None else env
    values = {env[v] for v in SECRET_VARS if env.get(v)}
    values |= {v for k, v in env.items() if k.startswith("SOURCES__") and SECRET_KEY.search(k) and v}
    dsn = env.get("SALESDW_POSTGRES_DSN")
    if dsn:
        try:
            from psycopg2.extensions import parse_dsn

            password = parse_dsn(dsn).get("password")
        except Exception:  # unparseable: the whole string (above) and its pieces are hidden
            password = None
        if password:
            values.add(password)
        # a malformed DSN is not parsed: its password as written (key=value or URL userinfo) is hidden too
        values |= set(re.findall(r"password\s*=\s*'?([^\s']+)", dsn)) | set(re.findall(r"://[^:/@]*:([^@/]+)@", dsn))
    return sorted((v for v in values if len(v) >= 3), key=len, reverse=True)


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    for value in secret_values() if secrets is None else secrets:
        text = text.replace(value, "***")
    return text


def one_line(text: str) -> str:
    """The first non-empty line of a message (exceptions from libraries span many)."""
    return next((line.strip() for line in text.splitlines() if line.strip()), text.strip())


def report(exc: BaseException, command: str, debug: bool) -> int:
    """Print ``exc`` as the command's one line on stderr (after its traceback with DEBUG); the exit code."""
    from core.settings import SettingsError

    if isinstance(exc, SettingsError):  # a SALESDW_* variable read outside cli.validate (a parser default)
        exc = ConfigError(f"{exc}: fix or unset the variable")
    if isinstance(exc, CliError):
        line, code = f"{command}: {exc}", exc.exit_code
    elif type(exc).__name__ == "OperationalError" and type(exc).__module__.startswith("psycopg2"):
        line = (
            f"{command}: cannot reach the PostgreSQL warehouse ({one_line(str(exc))}): "
            "check SALESDW_POSTGRES_DSN / the PG* variables and that the server is up"
        )
        code = FAILURE_EXIT
    else:
        hint = "" if debug else " (rerun with --log-level DEBUG for the traceback)"
        line, code = f"{command} failed: {type(exc).__name__}: {one_line(str(exc))}{hint}", FAILURE_EXIT
    if debug:
        sys.stderr.write(redact("".join(traceback.format_exception(exc))))
    sys.stdout.flush()
    print(redact(line), file=sys.stderr, flush=True)
    return code
