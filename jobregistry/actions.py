"""What staff do to a job after the fact: retry a failed or canceled one, cancel a waiting one.

Both are guarded writes on the record (the database decides), followed by the matching change in
Redis after commit.

Example:
    >>> retry_job("a1b2c3")     # a failed job runs again, attempts reset, its attempt log kept
    >>> cancel_job("d4e5f6")    # a queued job will not run
"""

from __future__ import annotations

from functools import partial

from django.db import transaction
from django.utils import timezone

from .errors import JobStateError
from .models import CANCELABLE_STATUSES, RETRYABLE_STATUSES, JobRecord, JobStatus
from .transport import hand_over, remove_from_redis


def retry_job(job_id: str) -> JobRecord:
    """Run a failed or canceled job again from attempt 1; its earlier attempts stay in the log."""
    with transaction.atomic():
        record = _locked(job_id)
        if record.status not in RETRYABLE_STATUSES:
            raise JobStateError(
                f"Job {job_id} is {record.status}; only failed or canceled jobs can be retried.", status=record.status
            )
        record.status = JobStatus.QUEUED
        record.attempts = 0
        record.progress = 0
        record.progress_message = ""
        record.result = None
        record.scheduled_for = None
        record.started_at = None
        record.finished_at = None
        record.save()
        transaction.on_commit(partial(_requeue, record), robust=True)
    return record


def cancel_job(job_id: str) -> JobRecord:
    """Cancel a job that has not started; a worker that picks it up anyway will not run it."""
    with transaction.atomic():
        record = _locked(job_id)
        if record.status not in CANCELABLE_STATUSES:
            raise JobStateError(
                f"Job {job_id} is {record.status}; only pending, queued, scheduled or retrying jobs can be canceled.",
                status=record.status,
            )
        record.status = JobStatus.CANCELED
        record.finished_at = timezone.now()
        record.scheduled_for = None
        record.save(update_fields=["status", "finished_at", "scheduled_for", "updated_at"])
        transaction.on_commit(lambda: remove_from_redis(record.queue, job_id), robust=True)
    return record


def _requeue(record: JobRecord) -> None:
    # Redis may still hold the old run (in its failed registry); replace it with a fresh one.
    remove_from_redis(record.queue, record.pk)
    hand_over(record)


def _locked(job_id: str) -> JobRecord:
    try:
        return JobRecord.objects.select_for_update().get(pk=job_id)
    except JobRecord.DoesNotExist:
        raise JobStateError(f"No job with id {job_id!r}.") from None
