"""One line per failed step of a run, from the run's events: which source and resource, the HTTP status or
the error, and what to check. ``salesdw run`` prints these before its summary (the tracebacks stay in the
Dagster run log)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cli.errors import one_line, redact
from orchestration.console import innermost_error

HTTP_ERROR = re.compile(r"^(?P<where>\S+): (?P<method>[A-Z]+) (?P<url>\S+) -> HTTP (?P<status>\d{3})")
RETRIES_EXHAUSTED = re.compile(
    r"^(?P<where>\S+): (?P<method>[A-Z]+) (?P<url>\S+) failed after (?P<n>\d+) attempts: (?P<problem>.*)"
)
USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def _section(step_key: str) -> str | None:
    from ingestion.pipelines import SOURCES

    spec = SOURCES.get(step_key.removeprefix("ingest_"))
    return (spec.factory.section or spec.factory.name) if spec else None


CREDENTIALS_REFUSED = re.compile(r"oauth|invalid_client|invalid_grant|invalid_token|unauthori[sz]ed", re.IGNORECASE)


def _hint(status: int, section: str | None, message: str) -> str:
    prefix = f"SOURCES__{section.upper()}__*" if section else "the source's settings"
    if status in (401, 403) or (status == 400 and CREDENTIALS_REFUSED.search(message)):
        return f"check the source's credentials ({prefix}: token, client id/secret)"
    if status == 404:
        return f"check the source's URL and account/shop ids ({prefix})"
    if status == 429 or status >= 500:
        return "the vendor kept refusing (throttled or down): run again later"
    return f"check the request's settings ({prefix})"


def _dbt_failure(message: str) -> str:
    """dagster-dbt's error says only "the dbt CLI process failed": name the failing nodes from run_results.json."""
    code = re.search(r"exit code `(\d+)`", message)
    log = re.search(r"dbt debug log: (\S+?dbt\.log)", message)
    line = f"dbt build failed (exit code {code[1] if code else '?'})"
    if not log:
        return f"{line}: the run log (salesdw ui) has dbt's output"
    results = Path(log[1]).with_name("run_results.json")
    try:
        failed = [
            (
                r["unique_id"].split(".")[0],
                r["unique_id"].split(".")[-1],
                one_line((r.get("message") or "").split(chr(10), 1)[-1]),
            )
            for r in json.loads(results.read_text())["results"]
            if r["status"] in ("error", "fail")
        ]
    except (OSError, ValueError, KeyError):
        failed = []
    if failed:
        kind, node, why = failed[0]
        more = f" and {len(failed) - 1} more" if len(failed) > 1 else ""
        line += f": {kind} {node} ({why[:160]}){more}"
    return f"{line}; details: {log[1]}"


def describe_failure(step_key: str, error: Any) -> str:
    """The one line of a failed step; ``error`` is the STEP_FAILURE's SerializableErrorInfo."""
    cause = innermost_error(error)
    name = getattr(cause, "cls_name", None) or "Error"
    message = one_line(getattr(cause, "message", "") or "")
    message = re.sub(rf"^[\w.]*\b{re.escape(name)}: ", "", message)  # Dagster prefixes the qualified class name
    section = _section(step_key)
    base = f"SOURCES__{section.upper()}__BASE_URL (or its URL setting)" if section else "the source's URL"
    if m := HTTP_ERROR.match(message):
        status = int(m["status"])
        line = f"{m['where']}: HTTP {status} from {m['method']} {m['url']}: {_hint(status, section, message)}"
    elif m := RETRIES_EXHAUSTED.match(message):
        problem = m["problem"]
        if re.search(r"Connection|refused|Max retries|NewConnectionError|resolve", problem, re.IGNORECASE):
            line = f"{m['where']}: cannot connect to {m['url']} ({m['n']} attempts): check {base} and that the service is up"
        else:
            line = f"{m['where']}: {m['method']} {m['url']} failed after {m['n']} attempts ({one_line(problem)[:120]})"
    elif name == "DagsterDbtCliRuntimeError":
        line = _dbt_failure(getattr(cause, "message", "") or "")
    else:
        line = f"{name}: {message[:300]}"
    return redact(USERINFO.sub("", f"step {step_key} failed: {line}"))


def failure_lines(events: Iterable[Any]) -> list[str]:
    return [
        describe_failure(e.step_key, e.event_specific_data.error)
        for e in events
        if e.event_type_value == "STEP_FAILURE" and getattr(e.event_specific_data, "error", None) is not None
    ]
