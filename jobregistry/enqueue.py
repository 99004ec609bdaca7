"""enqueue_job(): validate in the caller, write the record, hand the job to Redis after commit.

Example:
    >>> record = enqueue_job("email:send", {"to": "ada@example.com"},
    ...                      attempts=3, backoff={"type": "exponential", "delay": 1000}, priority=10)
    >>> record.status
    'queued'
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .backoff import RetryPolicy
from .errors import InvalidJobOptions
from .models import JobRecord, JobStatus
from .payload import to_json_payload
from .records import insert_new
from .registry import JobType, registry, validate_job_name
from .transport import hand_over, hand_over_many

# RQ accepts letters, digits, '_' and '-' in job ids; the record's primary key holds 64.
BULK_BATCH_SIZE = 500  # rows per INSERT: well under SQLite's 32,766 bound parameters
JOB_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
# The range of Django's Tasks API, so a task's priority is stored as given.
PRIORITY_MIN, PRIORITY_MAX = -100, 100


def enqueue_job(
    name: str,
    data: Any,
    *,
    attempts: int = 1,
    backoff: dict[str, Any] | None = None,
    delay: int | timedelta | None = None,
    queue: str | None = None,
    job_id: str | None = None,
    owner: Any = None,
    priority: int = 0,
) -> JobRecord:
    """Enqueue job `name` with JSON `data`; returns its JobRecord.

    attempts: tries in total (3 means up to 2 retries).
    backoff: {"type": "exponential" | "fixed", "delay": ms}; exponential waits delay*2^(n-1) before retry n.
    delay: milliseconds (or a timedelta) to postpone the first run.
    queue: defaults to the queue the job type was registered with.
    job_id: makes the call idempotent; a second call with the same id returns the first record.
    owner: the user the job acts for; a user who is not staff sees only the jobs they own.
    priority: -100 to 100. Above 0 the job goes to the front of its queue, ahead of every job
        waiting there (RQ has no numeric priority, so 1 and 100 are the same and the newest
        front job runs first); 0 and below join the back of the queue in order.

    The record is written in the caller's transaction; Redis sees the job only after commit.
    """
    job_type = registry.get(validate_job_name(name))
    payload = to_json_payload(data)
    if job_id is not None and (not isinstance(job_id, str) or not JOB_ID_PATTERN.fullmatch(job_id)):
        raise InvalidJobOptions(f"job_id must be 1 to 64 letters, digits, '_' or '-', got {job_id!r}.")
    record = _new_record(
        job_type, payload, attempts=attempts, backoff=backoff, delay=delay, queue=queue, owner=owner,
        priority=priority, job_id=job_id,
    )  # fmt: skip

    if job_id is None:
        # A fresh random id cannot be taken: no lookup, no savepoint, no transaction of our own.
        # In the caller's transaction the row commits with it; outside one it commits at once, and
        # on_commit() then hands the job over straight away.
        insert_new(record)
        # robust: the caller's work is committed by now; a failed hand-over must not raise into it.
        transaction.on_commit(partial(hand_over, record, fresh=True), robust=True)
        return record

    with transaction.atomic():
        existing = JobRecord.objects.filter(pk=job_id).first()
        if existing is not None:
            return _same_job(existing, name)
        try:
            with transaction.atomic():  # a savepoint, so a lost race leaves the caller's transaction usable
                record.save(force_insert=True)
        except IntegrityError:
            return _same_job(JobRecord.objects.get(pk=job_id), name)
        transaction.on_commit(partial(hand_over, record), robust=True)
    return record


def enqueue_jobs(
    name: str,
    payloads: Iterable[Any],
    *,
    attempts: int = 1,
    backoff: dict[str, Any] | None = None,
    delay: int | timedelta | None = None,
    queue: str | None = None,
    owner: Any = None,
    priority: int = 0,
) -> list[JobRecord]:
    """Enqueue one job of type `name` per payload: one transaction, one Redis pipeline.

    Every payload is checked before anything is written; a bad one refuses the whole batch and
    its error names it (`payloads[3]['when'] ...`). Options are those of enqueue_job().

    Example:
        >>> records = enqueue_jobs("email:send", [{"to": a} for a in addresses], attempts=3)
    """
    job_type = registry.get(validate_job_name(name))
    checked = [to_json_payload(data, what=f"payloads[{index}]") for index, data in enumerate(payloads)]
    records = [
        _new_record(job_type, payload, attempts=attempts, backoff=backoff, delay=delay, queue=queue,
                    owner=owner, priority=priority)
        for payload in checked
    ]  # fmt: skip
    if not records:
        return []
    with transaction.atomic():
        JobRecord.objects.bulk_create(records, batch_size=BULK_BATCH_SIZE)
        transaction.on_commit(partial(hand_over_many, records), robust=True)
    return records


def _new_record(
    job_type: JobType,
    payload: dict[str, Any],
    *,
    attempts: Any,
    backoff: Any,
    delay: Any,
    queue: str | None,
    owner: Any,
    priority: Any,
    job_id: str | None = None,
) -> JobRecord:
    """An unsaved JobRecord with every option checked."""
    policy = RetryPolicy.build(attempts, backoff)
    _check_priority(priority)
    run_at = _run_at(delay)
    return JobRecord(
        id=job_id or uuid.uuid4().hex,
        name=job_type.name,
        queue=_check_queue(queue or job_type.queue),
        data=payload,
        status=JobStatus.SCHEDULED if run_at else JobStatus.QUEUED,
        priority=priority,
        max_attempts=policy.attempts,
        backoff=policy.backoff,
        scheduled_for=run_at,
        owner=owner,
    )


def _same_job(existing: JobRecord, name: str) -> JobRecord:
    if existing.name != name:
        raise InvalidJobOptions(
            f"job_id {existing.pk!r} is already used by a {existing.name!r} job; cannot reuse it for {name!r}."
        )
    return existing


def _check_queue(queue: str) -> str:
    if queue not in settings.RQ_QUEUES:
        raise InvalidJobOptions(
            f"Unknown queue {queue!r}; configured queues (JOB_QUEUES): {', '.join(settings.RQ_QUEUES)}."
        )
    return queue


def _check_priority(priority: Any) -> None:
    if isinstance(priority, bool) or not isinstance(priority, int) or not PRIORITY_MIN <= priority <= PRIORITY_MAX:
        raise InvalidJobOptions(f"priority must be an integer from {PRIORITY_MIN} to {PRIORITY_MAX}, got {priority!r}.")


def _run_at(delay: int | timedelta | None):
    if delay is None:
        return None
    if isinstance(delay, timedelta):
        delay_ms = delay.total_seconds() * 1000
    elif isinstance(delay, int) and not isinstance(delay, bool):
        delay_ms = delay
    else:
        raise InvalidJobOptions(f"delay must be milliseconds (int) or a timedelta, got {delay!r}.")
    if delay_ms < 0:
        raise InvalidJobOptions(f"delay must not be negative, got {delay!r}.")
    return timezone.now() + timedelta(milliseconds=delay_ms) if delay_ms else None
