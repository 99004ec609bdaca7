"""Processors the tests enqueue; each one shows one behaviour of the worker."""

from __future__ import annotations

import os
import time
from typing import Any

from jobregistry import JobContext, PermanentJobError


def echo(job: JobContext) -> dict[str, Any]:
    """Return the payload and where it ran."""
    return {"echo": job.data, "attempt": job.attempt, "queue": job.queue}


def flaky(job: JobContext) -> dict[str, Any]:
    """Fail until attempt `succeed_on`, then succeed."""
    if job.attempt < job.data["succeed_on"]:
        raise RuntimeError(f"flaky failure on attempt {job.attempt}")
    return {"succeeded_on": job.attempt}


def always_fail(job: JobContext) -> None:
    raise ValueError(f"always fails ({job.data.get('marker', '')})")


def progress(job: JobContext) -> str:
    job.set_progress(40, "reading")
    job.set_progress(80, "writing")
    return "done"


def bad_result(job: JobContext) -> Any:
    return {"not json": {1, 2, 3}}


def permanent(job: JobContext) -> None:
    raise PermanentJobError("this cannot work, do not retry")


def needs_file(job: JobContext) -> str:
    """Fail until the file at `path` exists: a failure an operator can fix, then retry."""
    with open(job.data["path"]) as handle:
        return handle.read()


def sleepy(job: JobContext) -> dict[str, Any]:
    """Report the process it runs in (as its progress message), then sleep `seconds`.

    With `sleep_below_attempt`, only attempts before that one sleep: a killed first attempt is
    followed by a retry that finishes at once.
    """
    job.set_progress(1, f"pid={os.getpid()}")
    if job.attempt < job.data.get("sleep_below_attempt", job.attempt + 1):
        time.sleep(job.data["seconds"])
    return {"attempt": job.attempt, "pid": os.getpid()}
