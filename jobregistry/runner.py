"""run_job(): the one function every RQ job runs.

It looks the job's name up in the registry, calls the processor with a JobContext, and records
each step on the JobRecord. Exceptions are re-raised so RQ's own retry and failure handling
(and django-rq's dashboard) see the same outcome as the database.

Example (what RQ does in the work horse):
    >>> run_job("email:send", {"to": "ada@example.com"})
"""

from __future__ import annotations

import logging
import traceback
import uuid
from datetime import timedelta
from typing import Any

from django.utils import timezone
from rq import get_current_job

from . import liveness, records
from .backoff import RetryPolicy
from .context import JobContext
from .db_health import run_first_statement
from .errors import InvalidJobData, JobRegistryError, PermanentJobError
from .models import JobRecord
from .payload import check_json_value
from .registry import registry, validate_job_name
from .timing import Timing
from .transport import FROM_RECORD_META

logger = logging.getLogger(__name__)

# Mistakes no retry can fix: fail at once rather than burn the remaining attempts.
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (PermanentJobError, JobRegistryError)


def run_job(*args: Any, **kwargs: Any) -> Any:
    """Run the processor registered under `name` with `data` (RQ calls `run_job(name, data)`); return its result.

    Any other arguments (a raw RQ job built by hand) are recorded as a failed job, not a crash.
    """
    name, data, bad_call = _name_and_data(args, kwargs)
    rq_job = get_current_job()
    job_id = rq_job.id if rq_job is not None else uuid.uuid4().hex
    retries_left = (rq_job.retries_left or 0) if rq_job is not None else 0
    # The job's first statement; a guarded claim, so sending it twice after a reconnect is safe.
    attempt = run_first_statement(
        lambda: records.start_attempt(
            job_id,
            name=str(name)[: JobRecord._meta.get_field("name").max_length],
            queue=rq_job.origin if rq_job is not None else "default",
            data=data if isinstance(data, dict) else {"raw": repr(data)[:1000]},
            worker_name=(rq_job.worker_name or "") if rq_job is not None else "",
            max_attempts=retries_left + 1,
            still_running_elsewhere=_still_running_check(rq_job),
            create_missing=not (rq_job is not None and rq_job.meta.get(FROM_RECORD_META)),
        )
    )
    if attempt is None:
        return None  # canceled, already done, or running elsewhere: nothing to run, nothing to retry

    try:
        if bad_call is not None:
            raise bad_call
        job_type = registry.resolve(validate_job_name(name), data)
        if not isinstance(data, dict):
            raise InvalidJobData(f"Job data must be a JSON object, got {type(data).__name__}.")
        context = JobContext(
            id=job_id,
            name=name,
            data=data,
            attempt=attempt.number,
            max_attempts=attempt.max_attempts,
            queue=rq_job.origin if rq_job is not None else "default",
            _attempt=attempt,
        )
        result = job_type.func(context)
        check_json_value(result, path="result", what="result")
    except Exception as exc:
        _record_failure(attempt, exc, rq_job, retries_left)
        raise
    records.finish_attempt(attempt, result)
    return result


def _name_and_data(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any, InvalidJobData | None]:
    if len(args) == 2 and not kwargs:
        return args[0], args[1], None
    problem = InvalidJobData(
        f"An RQ job must call run_job(name, data); this one passed {len(args)} positional argument(s)"
        f"{' and the keyword(s) ' + ', '.join(sorted(map(str, kwargs))) if kwargs else ''}."
    )
    return (args[0] if args else ""), {"args": repr(args)[:1000], "kwargs": repr(kwargs)[:1000]}, problem


def _still_running_check(rq_job: Any):
    """A check, for start_attempt(), that the worker of the record's open attempt is alive and on this job."""
    if rq_job is None:
        return None
    stale_after = Timing.from_settings().stale_after

    def still_running(record: JobRecord) -> bool:
        return liveness.is_running(rq_job.connection, record.worker_name, record.id, stale_after=stale_after)

    return still_running


def _record_failure(attempt: records.StartedAttempt, exc: Exception, rq_job: Any, retries_left: int) -> None:
    permanent = isinstance(exc, PERMANENT_ERRORS)
    if permanent and rq_job is not None:
        # RQ decides on retry after we return; with nothing left it marks the job failed.
        rq_job.retries_left = 0
    retry_at = None
    if retries_left > 0 and not permanent:
        backoff = JobRecord.objects.values_list("backoff", flat=True).get(pk=attempt.record_id)
        policy = RetryPolicy.of_record(attempt.max_attempts, backoff)
        retry_at = timezone.now() + timedelta(milliseconds=policy.delay_before_retry_ms(attempt.number))
    records.fail_attempt(
        attempt,
        error_type=f"{type(exc).__module__}.{type(exc).__qualname__}",
        error_message=str(exc) or type(exc).__name__,
        error_traceback=traceback.format_exc(),
        retry_at=retry_at,
    )
    logger.warning(
        "Job %s attempt %s/%s failed: %s: %s%s",
        attempt.record_id,
        attempt.number,
        attempt.max_attempts,
        type(exc).__name__,
        exc,
        f"; retrying at {retry_at:%H:%M:%S}" if retry_at else "",
    )
