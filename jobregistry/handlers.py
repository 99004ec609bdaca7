"""RQ exception handlers that write RQ's failure decisions onto the JobRecord.

RQ calls a worker's exception handlers before it acts on a failure, so the record is updated first
and Redis second; a record is never behind what Redis did.

- record_abandoned_job: RQ's StartedJobRegistry.cleanup found a job whose worker stopped
  heartbeating (it died). RQ retries the job if it has retries left, else fails it; the record's
  attempt ends as WorkerLost, `retrying` or `failed` to match.
- record_unrunnable_job: a delivered job could not even start: its payload is not JSON (RQ's
  JSONSerializer refused it; nothing is ever unpickled) or it does not call jobregistry's
  dispatcher. The record ends `failed` with the reason, and RQ is told not to retry.

Both are installed by jobregistry.worker and by the reconcile_jobs command.

Example:
    Worker(queues, exception_handlers=[record_unrunnable_job, record_abandoned_job])
"""

from __future__ import annotations

import logging
import traceback
from types import TracebackType

from rq.exceptions import AbandonedJobError, DeserializationError
from rq.job import Job

from . import records
from .errors import NotARegistryJob, error_type_name

logger = logging.getLogger(__name__)

UNREADABLE_NAME = "(unreadable payload)"


def record_abandoned_job(
    job: Job, exc_type: type[BaseException], exc_value: BaseException, tb: TracebackType | None
) -> bool:
    """Mirror RQ's handling of an abandoned job on its record (before RQ retries or fails it).

    A database error propagates on purpose: RQ's cleanup then stops before changing Redis, and the
    next cleanup tries again, so the record and Redis never disagree for long.
    """
    if not issubclass(exc_type, AbandonedJobError):
        return True
    retry = job.should_retry  # exactly the test StartedJobRegistry.cleanup applies next
    reason = (
        f"Worker {job.worker_name or '?'} stopped heartbeating while running this job "
        f"(the process died or lost Redis for good); RQ {'retries' if retry else 'fails'} the job."
    )
    records.worker_lost(job.id, worker_name=job.worker_name or "", reason=reason, retry=retry)
    return True


def record_unrunnable_job(
    job: Job, exc_type: type[BaseException], exc_value: BaseException, tb: TracebackType | None
) -> bool:
    """Record a job refused before jobregistry's runner could start it; it will not be retried."""
    if not issubclass(exc_type, (DeserializationError, NotARegistryJob)):
        return True  # the runner already recorded every other failure
    job.retries_left = 0  # no retry can make it readable or ours
    if issubclass(exc_type, DeserializationError):
        cause = exc_value.__cause__
        name = UNREADABLE_NAME
        message = (
            "The job's payload is not JSON, so it was neither decoded nor run "
            f"(RQ's JSONSerializer: {type(cause).__name__}: {cause})."
        )
        data = {"payload_head": repr(bytes(job.data)[:200])}
    else:
        name = job.func_name
        message = str(exc_value)
        data = {"func": job.func_name, "args": repr(job.args)[:1000], "kwargs": repr(job.kwargs)[:1000]}
    try:
        records.refuse_job(
            job.id,
            name=name,
            queue=job.origin or "",
            data=data,
            worker_name=job.worker_name or "",
            error_type=error_type_name(exc_type),
            error_message=message,
            error_traceback="".join(traceback.format_exception(exc_type, exc_value, tb)),
        )
    except Exception:  # never break RQ's own failure handling; the reconciler syncs the record later
        logger.exception("Job %s: could not record why it was refused.", job.id)
    return True
