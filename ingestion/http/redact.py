"""Credentials in a URL's userinfo (``http://key:secret@host``) never reach a log line or an error message.

``redact`` rewrites every ``scheme://user:password@`` in a text to ``scheme://***@``. ``install`` wraps the
process's log-record factory once, so every record (ours, dlt's, Dagster's, urllib3's) is redacted before any
handler formats, prints or stores it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*://)[^/\s@'\"<>]+@")


def redact(text: str) -> str:
    return USERINFO.sub(r"\g<scheme>***@", text)


def _redact_arg(value: Any) -> Any:
    return redact(value) if isinstance(value, str) and "@" in value else value


_installed = False


def install() -> None:
    """Redact userinfo in every log record of this process (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if isinstance(record.msg, str) and "@" in record.msg:
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redact_arg(v) for k, v in record.args.items()}
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
