"""Retry policy: how many tries a job gets and how long it waits between them.

Example:
    >>> policy = RetryPolicy.build(attempts=3, backoff={"type": "exponential", "delay": 1000})
    >>> policy.delays_ms()
    [1000, 2000]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import InvalidJobOptions

BACKOFF_TYPES = ("exponential", "fixed")
MAX_ATTEMPTS = 100


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts` tries in total; before retry n wait delay*2^(n-1) ms (exponential) or delay ms (fixed)."""

    attempts: int = 1
    backoff_type: str = "fixed"
    delay_ms: int = 0

    @classmethod
    def build(cls, attempts: Any = 1, backoff: Any = None) -> RetryPolicy:
        """Validate the public `attempts` and `backoff` arguments of enqueue_job()."""
        if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= MAX_ATTEMPTS:
            raise InvalidJobOptions(
                f"attempts must be an integer from 1 to {MAX_ATTEMPTS} (tries in total), got {attempts!r}."
            )
        if backoff is None:
            return cls(attempts=attempts)
        if not isinstance(backoff, dict) or set(backoff) - {"type", "delay"}:
            raise InvalidJobOptions(
                f'backoff must be a dict like {{"type": "exponential", "delay": 1000}}, got {backoff!r}.'
            )
        backoff_type = backoff.get("type", "fixed")
        delay = backoff.get("delay", 0)
        if backoff_type not in BACKOFF_TYPES:
            raise InvalidJobOptions(f"backoff type must be one of {BACKOFF_TYPES}, got {backoff_type!r}.")
        if isinstance(delay, bool) or not isinstance(delay, int) or delay < 0:
            raise InvalidJobOptions(f"backoff delay must be a non-negative integer of milliseconds, got {delay!r}.")
        return cls(attempts=attempts, backoff_type=backoff_type, delay_ms=delay)

    @classmethod
    def of_record(cls, max_attempts: int, backoff: dict[str, Any] | None) -> RetryPolicy:
        """The policy a stored JobRecord was given (already validated, so not checked again)."""
        backoff = backoff or {}
        return cls(max_attempts, backoff.get("type", "fixed"), backoff.get("delay", 0))

    @property
    def backoff(self) -> dict[str, Any] | None:
        """The policy in the public `backoff` form, or None when there is no wait."""
        if not self.delay_ms:
            return None
        return {"type": self.backoff_type, "delay": self.delay_ms}

    def delay_before_retry_ms(self, retry: int) -> int:
        """Milliseconds to wait before retry number `retry` (1 is the first retry, i.e. attempt 2)."""
        if self.backoff_type == "exponential":
            return self.delay_ms * 2 ** (retry - 1)
        return self.delay_ms

    def delays_ms(self) -> list[int]:
        """The wait before each retry, in order; empty when the job gets one attempt."""
        return [self.delay_before_retry_ms(n) for n in range(1, self.attempts)]
