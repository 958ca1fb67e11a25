"""Sensors: failed runs are reported, in the log and to a file (or webhook later) someone watches."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from dagster import DefaultSensorStatus, RunFailureSensorContext, run_failure_sensor

from core.settings import env_var, settings

ALERTS_FILE_ENV = env_var("alerts_file")  # JSON lines, one per failed run; unset: log only


@run_failure_sensor(
    name="report_failed_runs",
    default_status=DefaultSensorStatus.RUNNING,
    description="Logs every failed run and appends it to $SALESDW_ALERTS_FILE (JSON lines).",
)
def report_failed_runs(context: RunFailureSensorContext) -> None:
    run = context.dagster_run
    failure = context.failure_event.message if context.failure_event else ""
    alert = {"at": datetime.now(UTC).isoformat(), "job": run.job_name, "run_id": run.run_id, "message": failure}
    context.log.error(f"run {run.run_id} of {run.job_name} failed: {failure}")
    path = settings().alerts_file
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as out:
            out.write(json.dumps(alert) + "\n")


sensors = [report_failed_runs]
