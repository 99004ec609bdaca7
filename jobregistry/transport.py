"""Hands a committed JobRecord to Redis as an RQ job.

Everything RQ needs is read from the record, so a record that could not be handed over at
commit time (Redis down, or the process died first) can be handed over again later from the
database alone (see reconcile.py). The RQ job id is the record id and the hand-over is atomic
and unique in Redis, so handing one record over twice never makes two jobs.

Example:
    >>> hand_over(record)   # normally called from transaction.on_commit by enqueue_job()
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from redis.exceptions import RedisError
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus, Retry

from .backoff import RetryPolicy
from .connection import get_queue, get_redis
from .models import JobRecord
from .records import mark_pending

logger = logging.getLogger(__name__)

# The function every RQ job runs; it finds the processor by name in the registry.
DISPATCH_FUNC = "jobregistry.runner.run_job"
# Set in the meta of every RQ job handed over from a record: a worker never re-creates such a
# job's record once it was deleted (only raw RQ jobs get a record made for them).
FROM_RECORD_META = "jobregistry_record"
RESULT_TTL_SECONDS = 24 * 3600  # Redis keeps results a day; the database keeps them for good.


# An RQ job in one of these states is over; one found under a waiting record's id is a leftover
# of an earlier run (e.g. before retry_job()), not this hand-over.
ENDED_RQ_STATUSES = frozenset({JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED})


def rq_retry_for(policy: RetryPolicy, attempts_done: int = 0, *, at_front: bool = False) -> Retry | None:
    """RQ's Retry for what is left of `policy` after `attempts_done` attempts, or None if one run is left.

    RQ's ScheduledJobRegistry scores jobs in whole seconds and truncates, so a job due at
    12.9 s may run at 12.0 s. One extra second per interval guarantees the full backoff.
    """
    retries = policy.attempts - attempts_done - 1
    if retries <= 0:
        return None
    intervals = [(ms / 1000 + 1) if ms else 0 for ms in policy.delays_ms()[attempts_done:]]
    return Retry(max=retries, interval=intervals, enqueue_at_front=at_front)


def jumps_queue(priority: int) -> bool:
    """True if a job of `priority` goes to the front of its queue.

    RQ queues are plain lists: a job can join the back or the front, nothing in between. So a
    positive priority means "front" and everything else means "back, in order".
    """
    return priority > 0


def ceil_to_second(moment: datetime) -> datetime:
    """Round up to a whole second, for the same truncation as above."""
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + timedelta(seconds=1)


def hand_over(record: JobRecord, *, fresh: bool = False) -> bool:
    """Put `record` on its RQ queue (or schedule it); on a Redis error mark it pending. True if Redis has it.

    A record already in Redis (handed over by someone else a moment ago) is left as it is.
    fresh: the record was just created under a new random id, so Redis cannot hold it yet and the
    uniqueness check (a Lua script per job) is skipped; a second delivery would still not run twice
    (records.start_attempt() refuses it).
    """
    try:
        if fresh:
            # Everything in one pipeline: one round trip where RQ on its own makes two.
            with get_redis().pipeline() as pipe:
                _enqueue(get_queue(record.queue), record, pipeline=pipe)
                pipe.execute()
            return True
        return _enqueue_once(record)
    except RedisError as exc:
        reason = (
            f"Redis refused the job ({type(exc).__name__}: {exc}); "
            "it is kept as pending and handed over when Redis answers again."
        )
        logger.error("Job %s (%s): %s", record.id, record.name, reason)
        mark_pending(record.id, reason)
        return False


def _enqueue_once(record: JobRecord) -> bool:
    queue = get_queue(record.queue)
    for _ in range(2):
        try:
            _enqueue(queue, record, unique=True)
            return True
        except DuplicateJobError:
            try:
                existing = Job.fetch(record.id, connection=queue.connection, serializer=queue.serializer)
                status = existing.get_status(refresh=False)
            except NoSuchJobError:
                continue  # it vanished between the two calls: try again
            if status not in ENDED_RQ_STATUSES:
                logger.info("Job %s is already in Redis (%s); not handing it over twice.", record.id, status.value)
                return True
            existing.delete(remove_from_queue=True)
    return False


def _enqueue(queue, record: JobRecord, *, unique: bool = False, pipeline=None) -> None:
    """Enqueue (or schedule) the RQ job for `record`.

    unique: one atomic, unique enqueue; RQ raises DuplicateJobError instead of writing a second job.
    pipeline: queue the commands there instead (for records just created, which Redis cannot hold).
    """
    policy = RetryPolicy.of_record(record.max_attempts, record.backoff)
    at_front = jumps_queue(record.priority)
    options = {
        "job_id": record.id,
        "at_front": at_front,  # for a delayed job RQ keeps it and applies it when the job falls due
        "retry": rq_retry_for(policy, attempts_done=record.attempts, at_front=at_front),
        "result_ttl": RESULT_TTL_SECONDS,
        "description": f"{record.name} {record.id}",
        "meta": {FROM_RECORD_META: True},
        "unique": unique,
        "pipeline": pipeline,
    }
    if record.scheduled_for is not None:
        queue.enqueue_at(ceil_to_second(record.scheduled_for), DISPATCH_FUNC, record.name, record.data, **options)
    else:
        queue.enqueue(DISPATCH_FUNC, record.name, record.data, **options)


def remove_from_redis(queue_name: str, job_id: str) -> bool:
    """Delete the RQ job `job_id` from Redis: its queue, its registries and its hash. True if it was there."""
    queue = get_queue(queue_name)
    try:
        job = Job.fetch(job_id, connection=queue.connection, serializer=queue.serializer)
    except NoSuchJobError:
        return False
    except RedisError as exc:
        logger.error("Job %s: could not remove it from Redis (%s); the record decides it will not run.", job_id, exc)
        return False
    job.delete(remove_from_queue=True)
    return True


def hand_over_many(records: list[JobRecord]) -> int:
    """hand_over() for records enqueue_jobs() just created, in one Redis pipeline; on a Redis error
    all are marked pending (and reconcile.py relays them later). Returns how many were sent.
    """
    if not records:
        return 0
    try:
        # One round trip, and one MULTI/EXEC: a connection lost halfway must not leave job hashes that
        # are in no queue (a reconcile pass would take them for delivered and never send them again).
        with get_redis().pipeline() as pipe:
            for record in records:
                _enqueue(get_queue(record.queue), record, pipeline=pipe)
            pipe.execute()
    except RedisError as exc:
        reason = f"Redis refused the jobs at commit time ({type(exc).__name__}: {exc}); they are kept as pending."
        logger.error("%s jobs (%s, ...): %s", len(records), records[0].name, reason)
        for record in records:
            mark_pending(record.id, reason)
        return 0
    return len(records)


def redis_holds(queue_name: str, job_id: str) -> bool:
    """True while Redis still has the RQ job `job_id` (results expire after RESULT_TTL_SECONDS).

    A queue this process does not configure holds nothing; a Redis that does not answer raises
    RedisError, so callers can tell "gone" from "cannot tell".
    """
    try:
        queue = get_queue(queue_name)
    except KeyError:
        return False
    return Job.exists(job_id, connection=queue.connection)
