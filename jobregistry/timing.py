"""How quickly jobregistry notices a dead worker, read from Django settings.

JOB_STALE_AFTER (seconds, default 60): a worker whose last heartbeat is older than this is dead,
and the `started` record it left is handed back (retried or failed).
JOB_RECONCILE_INTERVAL (seconds, default 15): how often the running workers, together, look for
such records and for records Redis never received.

Workers heartbeat four times per JOB_STALE_AFTER, so one late heartbeat never looks like a death.
A record stays `started` after its worker died for at most JOB_STALE_AFTER + JOB_RECONCILE_INTERVAL
(plus the length of one reconcile pass), as long as one jobregistry worker runs.

Example:
    >>> timing = Timing.from_settings()
    >>> timing.stale_after, timing.heartbeat_every
    (60, 15)
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

DEFAULT_STALE_AFTER = 60
DEFAULT_RECONCILE_INTERVAL = 15
MIN_STALE_AFTER = 4  # four heartbeats of at least one second each


@dataclass(frozen=True)
class Timing:
    """The liveness and reconcile periods, in whole seconds."""

    stale_after: int = DEFAULT_STALE_AFTER
    reconcile_every: int = DEFAULT_RECONCILE_INTERVAL

    @classmethod
    def from_settings(cls) -> Timing:
        return cls(
            stale_after=int(getattr(settings, "JOB_STALE_AFTER", DEFAULT_STALE_AFTER)),
            reconcile_every=int(getattr(settings, "JOB_RECONCILE_INTERVAL", DEFAULT_RECONCILE_INTERVAL)),
        )

    @property
    def heartbeat_every(self) -> int:
        """How often a worker proves it is alive, idle or busy (RQ timers take whole seconds)."""
        return max(1, self.stale_after // 4)

    def problems(self) -> list[str]:
        """Why these values cannot work, if they cannot; used by the system check."""
        found = []
        if self.stale_after < MIN_STALE_AFTER:
            found.append(f"JOB_STALE_AFTER must be at least {MIN_STALE_AFTER} seconds, got {self.stale_after}.")
        if self.reconcile_every < 1:
            found.append(f"JOB_RECONCILE_INTERVAL must be at least 1 second, got {self.reconcile_every}.")
        return found
