"""Counts of job records per job type and status, for a recent window and for all time.

One aggregate query, whatever the number of job types: it groups by (name, status) and counts
all records and the recent ones side by side, reading only the (name, status, enqueued_at) index.

Example:
    >>> summary = job_summary()
    >>> [(row.name, row.total) for row in summary.rows]
    [('ocr:process', 1204), ('jobs:ping', 3)]
    >>> summary.totals.cells[summary.statuses.index("failed")]
    StatusCount(status='failed', recent=2, total=17)
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from .models import JobRecord, JobStatus

RECENT_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class StatusCount:
    """How many records are in `status`: enqueued within the window, and ever."""

    status: str
    recent: int = 0
    total: int = 0


@dataclass
class SummaryRow:
    """One job type (or the totals): a StatusCount per column of `JobSummary.statuses`."""

    name: str
    cells: list[StatusCount] = field(default_factory=list)

    @property
    def recent(self) -> int:
        return sum(cell.recent for cell in self.cells)

    @property
    def total(self) -> int:
        return sum(cell.total for cell in self.cells)


@dataclass
class JobSummary:
    since: datetime
    statuses: list[str]  # the columns: every status some record is in, in JobStatus order
    rows: list[SummaryRow]
    totals: SummaryRow

    @property
    def status_labels(self) -> list[tuple[str, str]]:
        labels = dict(JobStatus.choices)
        return [(status, labels.get(status, status)) for status in self.statuses]


def job_summary(*, window: timedelta = RECENT_WINDOW, now: datetime | None = None) -> JobSummary:
    """Counts per job type and status, for the last `window` and for all time, in one query."""
    since = (now or timezone.now()) - window
    groups = (
        JobRecord.objects.order_by()  # no ORDER BY: the model's would join the GROUP BY and defeat the index
        .values_list("name", "status")
        .annotate(total=Count("*"), recent=Count("enqueued_at", filter=Q(enqueued_at__gte=since)))
    )
    counts: dict[str, dict[str, StatusCount]] = defaultdict(dict)
    for name, status, total, recent in groups:
        counts[name][status] = StatusCount(status, recent=recent, total=total)

    seen = {status for by_status in counts.values() for status in by_status}
    # Known statuses in their lifecycle order; anything unexpected in the table goes last.
    statuses = [s for s in JobStatus.values if s in seen] + sorted(seen - set(JobStatus.values))
    rows = [
        SummaryRow(name, [counts[name].get(status, StatusCount(status)) for status in statuses])
        for name in sorted(counts)
    ]
    totals = SummaryRow(
        "all job types",
        [
            StatusCount(status, recent=sum(r.cells[i].recent for r in rows), total=sum(r.cells[i].total for r in rows))
            for i, status in enumerate(statuses)
        ],
    )
    return JobSummary(since=since, statuses=statuses, rows=rows, totals=totals)
