"""Every status transition of a JobRecord, each one a guarded write.

Each write names the state it expects (`status=STARTED, attempts=n`), so a late or repeated
write from an earlier attempt can never move a record backwards: a `started` arriving after
`finished` matches no row and changes nothing.

Example:
    >>> attempt = start_attempt("a1b2", name="email:send", queue="default", data={}, worker_name="w1")
    >>> finish_attempt(attempt, result={"ok": True})
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from .models import RUNNABLE_STATUSES, JobAttempt, JobRecord, JobStatus

logger = logging.getLogger(__name__)

PROGRESS_MESSAGE_MAX = JobRecord._meta.get_field("progress_message").max_length


@dataclass(frozen=True)
class StartedAttempt:
    """What a worker needs to know about the attempt it just began."""

    record_id: str
    number: int
    max_attempts: int
    attempt_row_id: int


def start_attempt(
    job_id: str,
    *,
    name: str,
    queue: str,
    data: dict[str, Any],
    worker_name: str,
    max_attempts: int = 1,
    create_missing: bool = True,
) -> StartedAttempt | None:
    """Mark the record started and log a new attempt; None if the record must not run.

    A job that reached Redis without enqueue_job() (a raw RQ job naming our dispatcher) gets its
    record here (`create_missing`), so it is still tracked. A job enqueue_job() made whose record
    has since been deleted does not run: the database decides. Nor does a canceled or finished one.
    """
    now = timezone.now()
    with transaction.atomic():
        record = JobRecord.objects.select_for_update().filter(pk=job_id).first()
        if record is None:
            if not create_missing:
                logger.warning("Job %s (%s) has no record any more; not running it.", job_id, name)
                return None
            record = JobRecord.objects.create(id=job_id, name=name, queue=queue, data=data, max_attempts=max_attempts)
        if record.status not in RUNNABLE_STATUSES:
            logger.warning("Job %s (%s) is %s; not running it again.", job_id, name, record.status)
            return None
        record.attempts += 1
        record.status = JobStatus.STARTED
        record.started_at = record.started_at or now
        record.scheduled_for = None
        record.worker_name = worker_name
        record.progress = 0
        record.progress_message = ""
        record.save(
            update_fields=[
                "attempts",
                "status",
                "started_at",
                "scheduled_for",
                "worker_name",
                "progress",
                "progress_message",
                "updated_at",
            ]
        )
        row = JobAttempt.objects.create(record=record, number=record.attempts, started_at=now, worker_name=worker_name)
    return StartedAttempt(record.id, record.attempts, record.max_attempts, row.pk)


def _current(attempt: StartedAttempt):
    """The record, only while it is still in the attempt the caller is running."""
    return JobRecord.objects.filter(pk=attempt.record_id, status=JobStatus.STARTED, attempts=attempt.number)


def set_progress(attempt: StartedAttempt, percent: int, message: str = "") -> bool:
    """Record progress of a running attempt; False if the record has moved on."""
    return bool(
        _current(attempt).update(
            progress=percent, progress_message=message[:PROGRESS_MESSAGE_MAX], updated_at=timezone.now()
        )
    )


def finish_attempt(attempt: StartedAttempt, result: Any) -> bool:
    """The attempt succeeded: the record ends `finished` with `result`."""
    now = timezone.now()
    with transaction.atomic():
        updated = _current(attempt).update(
            status=JobStatus.FINISHED,
            result=result,
            progress=100,
            finished_at=now,
            updated_at=now,
            error_type="",
            error_message="",
            error_traceback="",
        )
        JobAttempt.objects.filter(pk=attempt.attempt_row_id).update(
            outcome=JobAttempt.Outcome.FINISHED, finished_at=now
        )
    return bool(updated)


def fail_attempt(
    attempt: StartedAttempt,
    *,
    error_type: str,
    error_message: str,
    error_traceback: str,
    retry_at: datetime | None,
) -> bool:
    """The attempt failed: `retrying` until `retry_at` if given, else `failed` for good."""
    now = timezone.now()
    fields: dict[str, Any] = {
        "error_type": error_type[:255],
        "error_message": error_message,
        "error_traceback": error_traceback,
        "updated_at": now,
    }
    if retry_at is not None:
        fields.update(status=JobStatus.RETRYING, scheduled_for=retry_at)
    else:
        fields.update(status=JobStatus.FAILED, finished_at=now)
    with transaction.atomic():
        updated = _current(attempt).update(**fields)
        JobAttempt.objects.filter(pk=attempt.attempt_row_id).update(
            outcome=JobAttempt.Outcome.FAILED,
            finished_at=now,
            error_type=error_type[:255],
            error_message=error_message,
            error_traceback=error_traceback,
        )
    return bool(updated)


def mark_pending(job_id: str, reason: str) -> bool:
    """Redis refused the hand-over: keep the record as `pending` so it can be handed over later."""
    return bool(
        JobRecord.objects.filter(pk=job_id, status__in=[JobStatus.QUEUED, JobStatus.SCHEDULED]).update(
            status=JobStatus.PENDING, error_message=reason, updated_at=timezone.now()
        )
    )
