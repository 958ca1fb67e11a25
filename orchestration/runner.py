"""Running the main job in-process: every step in turn, so DuckDB never sees two writers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dagster import DagsterInstance, ExecuteInProcessResult

from ingestion.pipelines import SOURCES


@dataclass
class RunOutcome:
    success: bool
    result: ExecuteInProcessResult
    checks: list[tuple[str, str, bool]] = field(default_factory=list)  # (asset, check, passed)

    @property
    def failed_checks(self) -> list[tuple[str, str, bool]]:
        return [c for c in self.checks if not c[2]]

    def check_metadata(self, check_name: str) -> dict[str, Any]:
        for e in self.result.all_events:
            if e.event_type_value == "ASSET_CHECK_EVALUATION" and e.event_specific_data.check_name == check_name:
                return {k: v.value for k, v in e.event_specific_data.metadata.items()}
        raise KeyError(check_name)

    def started_steps(self) -> set[str]:
        """Steps that ran; a step downstream of a failed blocking check never starts."""
        return {e.step_key for e in self.result.all_events if e.event_type_value == "STEP_START"}


def run_main_job(instance: DagsterInstance, full_refresh: bool = False, log_level: str = "INFO") -> RunOutcome:
    from orchestration.definitions import defs

    run_config: dict[str, Any] = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    if full_refresh:
        run_config["ops"] = {f"ingest_{k}": {"config": {"full_refresh": True}} for k in SOURCES}
    result = defs.resolve_job_def("salesdw_main").execute_in_process(
        instance=instance, raise_on_error=False, run_config=run_config)
    checks = [(e.event_specific_data.asset_key.to_user_string(), e.event_specific_data.check_name,
               e.event_specific_data.passed)
              for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    return RunOutcome(result.success, result, checks)
