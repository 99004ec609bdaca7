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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from .backoff import RetryPolicy
from .errors import WorkerLost, error_type_name
from .hot_cursor import hot_cursor
from .models import RUNNABLE_STATUSES, WAITING_STATUSES, JobAttempt, JobRecord, JobStatus

logger = logging.getLogger(__name__)

WORKER_LOST = error_type_name(WorkerLost)

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
    still_running_elsewhere: Callable[[JobRecord], bool] | None = None,
    create_missing: bool = True,
) -> StartedAttempt | None:
    """Mark the record started and log a new attempt; None if the record must not run.

    A job that reached Redis without enqueue_job() (a raw RQ job naming our dispatcher) gets its
    record here, so it is still tracked; with `create_missing` False (a job handed over from a
    record) a deleted record stays deleted and the job does not run. A canceled or already
    finished record is not run again.

    A record still `started` by another worker means RQ delivered the job again: either that worker
    died (its attempt is closed here as lost and a new one begins) or it is alive and still running
    the job (`still_running_elsewhere` says so) and this delivery is a duplicate that must not run.
    """
    now = timezone.now()
    claimed = _claim_waiting(job_id, worker_name, now)
    if claimed is not None:
        return claimed
    with transaction.atomic():
        if create_missing:
            record, _ = JobRecord.objects.select_for_update().get_or_create(
                id=job_id,
                defaults={"name": name, "queue": queue, "data": data, "max_attempts": max_attempts},
            )
        else:
            record = JobRecord.objects.select_for_update().filter(pk=job_id).first()
            if record is None:
                logger.warning("Job %s (%s): its record was deleted; not running it.", job_id, name)
                return None
        if record.status not in RUNNABLE_STATUSES:
            logger.warning("Job %s (%s) is %s; not running it again.", job_id, name, record.status)
            return None
        if record.status == JobStatus.STARTED:
            # The same worker runs one job at a time, so its own earlier attempt is certainly over.
            if record.worker_name != worker_name and still_running_elsewhere and still_running_elsewhere(record):
                logger.warning(
                    "Job %s (%s) is already running on worker %s; not starting it twice.",
                    job_id,
                    name,
                    record.worker_name,
                )
                return None
            _close_attempt(
                record,
                now,
                WORKER_LOST,
                f"Worker {record.worker_name or '?'} stopped while running attempt {record.attempts}; "
                f"RQ delivered the job again to worker {worker_name}.",
            )
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


def insert_new(record: JobRecord) -> None:
    """Write a record just built by enqueue_job(): record.save(force_insert=True), minus the ORM's compiling.

    enqueue_job() runs once per job, often in a loop, and compiling the INSERT through the ORM
    each time cost a quarter of the write on SQLite. The statement is built once from the model's
    columns (insert_statement()); each value still goes through its field's pre_save() and
    get_db_prep_save(), as in save(). Like bulk_create() (enqueue_jobs()), it sends no
    pre_save/post_save signals. It runs through a Django cursor (hot_cursor()), so query
    logging, assertNumQueries and execute wrappers see it.
    """
    if (target := _raw_sql_target()) is None:
        record.save(force_insert=True)
        return
    connection, records_table, _ = target
    with hot_cursor(connection) as cursor:
        cursor.execute(*insert_statement(record, connection, records_table))
    record._state.adding = False  # as save() leaves it: a saved row of this database
    record._state.db = connection.alias


# insert_statement()'s text per (database vendor, table): built once, then the very same string
# object every time. psycopg keeps a statement's value adapters on the cursor for as long as the
# cursor runs that same object again (hot_cursor() keeps the cursor), not for an equal new string.
_INSERT_STATEMENTS: dict[tuple[str, str], str] = {}


def insert_statement(record: JobRecord, connection: Any, table: str) -> tuple[str, list[Any]]:
    """The INSERT (with %s placeholders) that writes `record` into `table` (quoted), and its values.

    Each value goes through its field's pre_save() and get_db_prep_save(), as in save().

    Example:
        >>> sql, params = insert_statement(record, connection, '"jobregistry_jobrecord"')
    """
    fields = JobRecord._meta.concrete_fields
    key = (connection.vendor, table)
    if (statement := _INSERT_STATEMENTS.get(key)) is None:
        columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
        statement = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
        _INSERT_STATEMENTS[key] = statement
    return statement, [field.get_db_prep_save(field.pre_save(record, True), connection) for field in fields]


# The worker's hot path: every job's first and last writes. Where the database allows it they are
# single guarded statements instead of ORM round trips (SELECT FOR UPDATE, save(), create(), a
# COMMIT each): PostgreSQL writes the record and its attempt row in one statement with
# data-modifying CTEs; SQLite (in-process, so round trips are cheap) uses UPDATE ... RETURNING in a
# transaction. Anything unusual falls back to the ORM path, which makes the same guarded changes.
_CLAIM_SET = (
    "attempts = attempts + 1, status = %s, started_at = COALESCE(started_at, %s), scheduled_for = NULL, "
    "worker_name = %s, progress = 0, progress_message = '', updated_at = %s"
)


def _raw_sql_target() -> tuple[Any, str, str] | None:
    """(connection, quoted record table, quoted attempt table) where the raw fast paths apply, else None."""
    connection = transaction.get_connection()
    if connection.vendor not in ("postgresql", "sqlite"):
        return None
    quote = connection.ops.quote_name
    return connection, quote(JobRecord._meta.db_table), quote(JobAttempt._meta.db_table)


def _claim_waiting(job_id: str, worker_name: str, now: datetime) -> StartedAttempt | None:
    """Begin the next attempt of a waiting record and log it; None when start_attempt() must decide."""
    if (target := _raw_sql_target()) is None:
        return None
    connection, records_table, attempts_table = target
    waiting = sorted(WAITING_STATUSES)
    when = connection.ops.adapt_datetimefield_value(now)
    claim = (
        f"UPDATE {records_table} SET {_CLAIM_SET} "
        f"WHERE id = %s AND status IN ({', '.join(['%s'] * len(waiting))}) RETURNING id, attempts, max_attempts"
    )
    claim_params = [JobStatus.STARTED, when, worker_name, when, job_id, *waiting]
    insert = (
        f"INSERT INTO {attempts_table} (record_id, number, outcome, started_at, finished_at, worker_name, "
        "error_type, error_message, error_traceback) "
    )
    attempt_params = [JobAttempt.Outcome.RUNNING, when, worker_name]
    with hot_cursor(connection) as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"WITH claimed AS ({claim}), logged AS ({insert}"
                "SELECT id, attempts, %s, %s, NULL, %s, '', '', '' FROM claimed RETURNING id) "
                "SELECT claimed.attempts, claimed.max_attempts, logged.id FROM claimed, logged",
                [*claim_params, *attempt_params],
            )
            row = cursor.fetchone()
        else:
            with transaction.atomic():
                cursor.execute(claim, claim_params)
                claimed = cursor.fetchone()
                row = None
                if claimed is not None:
                    cursor.execute(
                        f"{insert}VALUES (%s, %s, %s, %s, NULL, %s, '', '', '')",
                        [claimed[0], claimed[1], *attempt_params],
                    )
                    row = (claimed[1], claimed[2], cursor.lastrowid)
    return StartedAttempt(job_id, row[0], row[1], row[2]) if row else None


def _finish_fast(attempt: StartedAttempt, result: Any, now: datetime) -> bool | None:
    """finish_attempt() as raw guarded statements; None where the ORM path must do it."""
    if (target := _raw_sql_target()) is None:
        return None
    connection, records_table, attempts_table = target
    result_value = JobRecord._meta.get_field("result").get_db_prep_save(result, connection)
    when = connection.ops.adapt_datetimefield_value(now)
    finish = (
        f"UPDATE {records_table} SET status = %s, result = %s, progress = 100, finished_at = %s, updated_at = %s, "
        "error_type = '', error_message = '', error_traceback = '' WHERE id = %s AND status = %s AND attempts = %s"
    )
    finish_params = [JobStatus.FINISHED, result_value, when, when, attempt.record_id, JobStatus.STARTED, attempt.number]
    log = f"UPDATE {attempts_table} SET outcome = %s, finished_at = %s WHERE id = %s"
    log_params = [JobAttempt.Outcome.FINISHED, when, attempt.attempt_row_id]
    with hot_cursor(connection) as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"WITH finished AS ({finish} RETURNING id), logged AS ({log}) SELECT count(*) FROM finished",
                [*finish_params, *log_params],
            )
            return bool(cursor.fetchone()[0])
        with transaction.atomic():
            cursor.execute(finish, finish_params)
            updated = cursor.rowcount
            cursor.execute(log, log_params)
        return bool(updated)


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
    done = _finish_fast(attempt, result, now)
    if done is not None:
        return done
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


def worker_lost(job_id: str, *, worker_name: str, reason: str, retry: bool) -> str | None:
    """The worker running `job_id` died; end its attempt the way RQ ends the job. Returns the new status.

    `retry` is RQ's decision (the RQ job has retries left): the record becomes `retrying` (due after
    the job's backoff) or `failed`, with WorkerLost and `reason` on the record and on the attempt.
    Only an attempt of `worker_name` is ended, so a late report never ends a newer attempt
    elsewhere. A record still waiting (the worker died before the attempt began) fails only when
    RQ will not run the job again; otherwise it keeps waiting.
    """
    now = timezone.now()
    with transaction.atomic():
        record = JobRecord.objects.select_for_update().filter(pk=job_id).first()
        if record is None:
            return None
        if record.status == JobStatus.STARTED and (not worker_name or record.worker_name == worker_name):
            _close_attempt(record, now, WORKER_LOST, reason)
            if retry:
                policy = RetryPolicy.of_record(record.max_attempts, record.backoff)
                record.status = JobStatus.RETRYING
                record.scheduled_for = now + timedelta(milliseconds=policy.delay_before_retry_ms(record.attempts))
            else:
                record.status = JobStatus.FAILED
                record.finished_at = now
        elif record.status in WAITING_STATUSES and not retry:
            record.status = JobStatus.FAILED
            record.finished_at = now
        else:
            return None
        record.error_type = WORKER_LOST
        record.error_message = reason
        record.error_traceback = ""
        record.save(
            update_fields=[
                "status",
                "scheduled_for",
                "finished_at",
                "error_type",
                "error_message",
                "error_traceback",
                "updated_at",
            ]
        )
    logger.warning("Job %s (%s): %s Now %s.", job_id, record.name, reason, record.status)
    return record.status


def fail_waiting(job_id: str, *, error_type: str, reason: str) -> bool:
    """RQ failed a job that never began an attempt here (e.g. stuck, or its payload unreadable): `failed`."""
    now = timezone.now()
    return bool(
        JobRecord.objects.filter(pk=job_id, status__in=WAITING_STATUSES).update(
            status=JobStatus.FAILED,
            error_type=error_type[:255],
            error_message=reason,
            error_traceback="",
            finished_at=now,
            updated_at=now,
        )
    )


def refuse_job(
    job_id: str,
    *,
    name: str,
    queue: str,
    data: dict[str, Any],
    worker_name: str,
    error_type: str,
    error_message: str,
    error_traceback: str = "",
) -> bool:
    """A delivered RQ job cannot be run at all (its payload is not JSON, or it names another function).

    The record (created if the job never had one) ends `failed` with the reason, and the attempt log
    shows the refused delivery. False if the record had already ended or is running elsewhere.
    """
    now = timezone.now()
    with transaction.atomic():
        record, _ = JobRecord.objects.select_for_update().get_or_create(
            id=job_id, defaults={"name": name[:100], "queue": queue[:64], "data": data}
        )
        if record.status not in WAITING_STATUSES:
            return False
        record.attempts += 1
        JobAttempt.objects.create(
            record=record,
            number=record.attempts,
            outcome=JobAttempt.Outcome.FAILED,
            started_at=now,
            finished_at=now,
            worker_name=worker_name,
            error_type=error_type[:255],
            error_message=error_message,
        )
        record.status = JobStatus.FAILED
        record.worker_name = worker_name
        record.error_type = error_type[:255]
        record.error_message = error_message
        record.error_traceback = error_traceback
        record.finished_at = now
        record.scheduled_for = None
        record.save()
    return True


def claim_pending(job_id: str) -> JobRecord | None:
    """Take a `pending` record for a hand-over to Redis; only one caller wins. Returns the claimed record."""
    with transaction.atomic():
        record = JobRecord.objects.select_for_update().filter(pk=job_id, status=JobStatus.PENDING).first()
        if record is None:
            return None
        record.status = JobStatus.SCHEDULED if record.scheduled_for else JobStatus.QUEUED
        record.save(update_fields=["status", "updated_at"])
    return record


def touch(job_id: str, status: str) -> bool:
    """Note that a waiting record was just handed over again, so the next sweep leaves it alone a while."""
    return bool(JobRecord.objects.filter(pk=job_id, status=status).update(updated_at=timezone.now()))


def _close_attempt(record: JobRecord, now: datetime, error_type: str, error_message: str) -> None:
    """Close the attempt log's open row for the record's current attempt (a lost attempt)."""
    JobAttempt.objects.filter(record=record, number=record.attempts, outcome=JobAttempt.Outcome.RUNNING).update(
        outcome=JobAttempt.Outcome.FAILED, finished_at=now, error_type=error_type[:255], error_message=error_message
    )


def mark_pending(job_id: str, reason: str) -> bool:
    """Redis refused the hand-over: keep the record as `pending` so it can be handed over later."""
    return bool(
        JobRecord.objects.filter(pk=job_id, status__in=[JobStatus.QUEUED, JobStatus.SCHEDULED]).update(
            status=JobStatus.PENDING, error_message=reason, updated_at=timezone.now()
        )
    )
