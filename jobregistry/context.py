"""JobContext: what a processor receives.

Example:
    >>> def process(job: JobContext) -> dict:
    ...     job.set_progress(50, "half way")
    ...     return {"id": job.data["upload_id"], "attempt": job.attempt}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import records


@dataclass(frozen=True)
class JobContext:
    """One attempt of one job, as seen by its processor."""

    id: str
    name: str
    data: dict[str, Any]
    attempt: int
    max_attempts: int
    queue: str = "default"
    _attempt: records.StartedAttempt | None = field(default=None, repr=False, compare=False)

    @property
    def is_last_attempt(self) -> bool:
        return self.attempt >= self.max_attempts

    def set_progress(self, percent: int | float, message: str = "") -> None:
        """Record progress (0-100) and a short message on the job's record; shown in admin and API."""
        if isinstance(percent, bool) or not isinstance(percent, (int, float)):
            raise TypeError(f"percent must be a number from 0 to 100, got {percent!r}.")
        if self._attempt is not None:
            records.set_progress(self._attempt, max(0, min(100, round(percent))), str(message))
