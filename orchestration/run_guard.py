"""Before `salesdw run` starts: no dead run keeps a pool slot, and no run waits on the pool silently.

The main job runs in-process (orchestration/runner.py), so a run killed with ``kill -9`` (OOM, power loss, a
CI timeout) never reports its end: it stays STARTED and keeps its ``duckdb_warehouse`` slot, and every later
run would wait for that slot forever. Each run carries the pid and host of the process that runs it
(``run_tags``); ``reap_dead_runs`` marks the runs of this host whose process is gone as failed and frees
their slots, saying so. ``report_pool_holders`` names the live runs holding a pool slot before a run waits.
"""

from __future__ import annotations

import os
import socket
import sys
from datetime import date

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

PID_TAG, HOST_TAG = "salesdw/pid", "salesdw/host"
IN_PROGRESS = [DagsterRunStatus.STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.NOT_STARTED]


def run_tags() -> dict[str, str]:
    """Tags of a run executed by this process."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _say(message: str) -> None:
    print(f"[salesdw] {message}", file=sys.stderr, flush=True)


def reap_dead_runs(instance: DagsterInstance) -> list[str]:
    """Mark this host's in-progress runs whose process is gone as failed and free their pool slots; their ids."""
    reaped: list[str] = []
    for run in instance.get_runs(RunsFilter(statuses=IN_PROGRESS)):
        pid, host = run.tags.get(PID_TAG), run.tags.get(HOST_TAG)
        if not pid or host != socket.gethostname() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        instance.report_run_failed(run, message=f"process {pid} on {host} is gone (killed?): marked failed")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        _say(f"run {run.run_id} ({run.job_name}) died with its process {pid}: marked failed, its pool slots freed")
        reaped.append(run.run_id)
    # slots still claimed by a run that has finished (a crash between the end and the release)
    for key in instance.event_log_storage.get_concurrency_keys():
        for slot in instance.event_log_storage.get_concurrency_info(key).claimed_slots:
            run = instance.get_run_by_id(slot.run_id)
            if run is None or run.is_finished:
                instance.event_log_storage.free_concurrency_slots_for_run(slot.run_id)
                _say(f"pool {key}: freed the slot of finished run {slot.run_id} ({slot.step_key})")
    return reaped


def pool_holders(instance: DagsterInstance) -> list[str]:
    """'pool: run (job, step, pid)' for every claimed pool slot: who a new run would wait for."""
    out = []
    for key in sorted(instance.event_log_storage.get_concurrency_keys()):
        info = instance.event_log_storage.get_concurrency_info(key)
        for slot in info.claimed_slots:
            run = instance.get_run_by_id(slot.run_id)
            tags = run.tags if run else {}
            out.append(
                f"pool {key} ({info.active_slot_count}/{info.slot_count} slots) held by run {slot.run_id} "
                f"({run.job_name if run else '?'}, step {slot.step_key}, pid {tags.get(PID_TAG, '?')} "
                f"on {tags.get(HOST_TAG, '?')})"
            )
    return out


def report_pool_holders(instance: DagsterInstance) -> list[str]:
    holders = pool_holders(instance)
    for line in holders:
        _say(f"waiting: {line}; it finishes first (stop it, or `salesdw ui` to see it)")
    return holders


def future_as_of(as_of: date, today: date | None = None) -> str | None:
    """Why an --as-of cannot run, or None: a day after today has no FX rates and no partitions yet (the FX
    source and the daily partitions end today), so the marts could not be built on it."""
    today = today or date.today()
    if as_of > today:
        return (
            f"--as-of {as_of.isoformat()} is after today ({today.isoformat()}): the FX source and the daily "
            "partitions end today, so its orders would have no exchange rate; use a date up to today"
        )
    return None


def prepare(instance: DagsterInstance) -> None:
    """Before a run: free what dead runs hold, then name whoever still holds a pool slot."""
    reap_dead_runs(instance)
    report_pool_holders(instance)
