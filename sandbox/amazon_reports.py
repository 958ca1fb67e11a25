"""Amazon SP-API Reports 2021-06-30 (docs/architecture.md: API contracts).

Reports Amazon generates on its own schedule (the settlement report) are never created by a client:
``getReports`` lists them and ``getReportDocument`` serves them. A module that produces such a report
registers a function in ``SCHEDULED_REPORTS``: report type -> every report of that type the world has
generated (those with ``created_time`` before the world's ``now`` are visible).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.world import World


@dataclass(frozen=True)
class ScheduledReport:
    """A report Amazon generates on its own schedule: listed by ``getReports``, never requested."""

    report_type: str
    report_id: str  # digits, as Amazon's report ids
    marketplace_ids: tuple[str, ...]
    data_start_time: datetime
    data_end_time: datetime
    created_time: datetime  # when Amazon generated it (listed once before the world's now)
    content: Callable[[], bytes]  # the document body (UTF-8, tab-separated), rendered on demand


# report type -> every report of that type the world generates
SCHEDULED_REPORTS: dict[str, Callable[[World], list[ScheduledReport]]] = {}
