"""`jobs:ping`, a built-in job type: answers with its payload, to check that workers run jobs.

Example:
    >>> enqueue_job("jobs:ping", {"hello": "world"})   # ends finished with {"pong": {"hello": "world"}}
"""

from __future__ import annotations

from typing import Any

from .context import JobContext


def ping(job: JobContext) -> dict[str, Any]:
    """Answer with the payload: a cheap check that workers run jobs."""
    return {"pong": job.data}
