"""The console logger of in-process runs (``salesdw run``): Dagster's, minus the tracebacks below DEBUG.

Dagster's console logger prints a failed step's whole exception chain (Dagster's, dlt's, the vendor
client's) in the middle of the run's progress. Below DEBUG this logger prints a failure as one line (the
innermost cause's first line) and leaves out the "Dependencies for step ... failed" line of every skipped
step; the run's event log (the Dagster UI, ``DAGSTER_HOME``) keeps the full error either way.
"""

from __future__ import annotations

import logging

from dagster import Field, InitLoggerContext, logger
from dagster._core.log_manager import LOG_RECORD_METADATA_ATTR
from dagster._utils.log import create_console_logger

from cli.errors import one_line, redact


def innermost_error(error: object) -> object:
    """The root cause of a Dagster ``SerializableErrorInfo`` (the vendor's error, not Dagster's wrapper)."""
    while getattr(error, "cause", None) is not None:
        error = error.cause  # type: ignore[attr-defined]
    return error


class OneLineFailures(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        meta = getattr(record, LOG_RECORD_METADATA_ATTR, None) or {}
        if str(meta.get("orig_message", "")).startswith("Dependencies for step"):
            return False
        event = meta.get("dagster_event")
        error = getattr(getattr(event, "event_specific_data", None), "error", None)
        if error is not None and isinstance(record.msg, str) and "\n\n" in record.msg:
            cause = innermost_error(error)
            detail = one_line(getattr(cause, "message", "") or getattr(cause, "cls_name", "") or "error")[:300]
            record.msg = redact(f"{record.msg.split(chr(10) * 2, 1)[0]} {detail}")
            record.args = ()
        return True


@logger(
    {
        "log_level": Field(str, is_required=False, default_value="INFO"),
        "name": Field(str, is_required=False, default_value="dagster"),
    },
    description="Dagster's console logger; failures in one line below DEBUG",
)
def console_logger(init_context: InitLoggerContext) -> logging.Logger:
    level = init_context.logger_config["log_level"]
    log = create_console_logger(init_context.logger_config["name"], level)
    if str(level).upper() != "DEBUG":
        for handler in log.handlers:
            handler.addFilter(OneLineFailures())
    return log
