"""Reconciling the records with Redis, so that no job is lost and none stays stuck.

The database is the durable history and Redis the transport; a crash, a kill or an outage can
leave them disagreeing. One pass, run by every jobregistry worker every JOB_RECONCILE_INTERVAL
seconds (one process at a time) and by `manage.py reconcile_jobs`, sets them straight:

1. relay: `pending` records (Redis refused them at commit) are handed to Redis once it answers.
2. unsent: `queued`, `scheduled` and `retrying` records unchanged for JOB_STALE_AFTER seconds that
   Redis does not hold (the process died between commit and hand-over, or Redis lost data) are
   handed over again; those RQ failed without running them are marked failed with RQ's reason.
   So are jobs stranded in Redis: RQ has them as queued or scheduled, but they are in no list or
   schedule a worker reads (a worker that listens to several queues was killed between taking
   the job off its queue and marking it started), seen so on two passes JOB_STALE_AFTER apart.
3. stale: `started` records whose worker has not heartbeated for JOB_STALE_AFTER seconds are
   handed back. If RQ still shows the job started, RQ's own abandoned-job handling
   (StartedJobRegistry.cleanup) retries or fails it, and handlers.record_abandoned_job writes that
   decision on the record first; if RQ already moved on, the record follows RQ.

Every step is a guarded write on the record plus an atomic, unique step in Redis, so passes that
overlap (or race a worker) change nothing twice: the job id is the record id, and a record is
handed back only while the attempt that died is still its current one.

Example:
    >>> report = reconcile(wait=True)
    >>> print(report)
    relayed 0, sent again 0, failed by RQ 0, handed back 1
"""

from __future__ import annotations

import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from redis import Redis
from redis.exceptions import LockError, RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.job import JobStatus as RQStatus
from rq.queue import Queue
from rq.registry import StartedJobRegistry
from rq.utils import as_text

from . import liveness, records
from .connection import get_queue
from .handlers import record_abandoned_job
from .models import JobRecord, JobStatus
from .timing import Timing
from .transport import hand_over, remove_from_redis

logger = logging.getLogger(__name__)

LOCK_KEY = "jobregistry:reconcile:lock"
CURSOR_KEY = "jobregistry:reconcile:unsent-cursor"
STRANDED_KEY = "jobregistry:reconcile:stranded"  # job id -> when a pass first saw it stranded
# A queue is read for stranded jobs only while it is at most this long: a longer queue is a backlog
# (its jobs are expected to wait), and its jobs are checked once it has drained.
STRANDED_SCAN_MAX = 1000
BATCH = 500  # records looked at per sweep and pass; a pass must stay well inside its lock's lifetime
RQ_FAILED_STATUSES = frozenset({RQStatus.FAILED, RQStatus.STOPPED, RQStatus.CANCELED})
REQUEUED_STATUSES = frozenset({RQStatus.QUEUED, RQStatus.SCHEDULED, RQStatus.DEFERRED, RQStatus.CREATED})


@dataclass
class Report:
    """What one pass did."""

    relayed: int = 0  # pending records handed to Redis
    sent_again: int = 0  # waiting records Redis did not hold (or held where no worker looks), handed over again
    failed_by_rq: int = 0  # waiting records RQ had failed without running, marked failed
    handed_back: int = 0  # started records of dead workers, retried or failed
    redis_down: bool = False
    skipped: bool = False  # another process holds the reconcile lock

    @property
    def changed(self) -> int:
        return self.relayed + self.sent_again + self.failed_by_rq + self.handed_back

    def __str__(self) -> str:
        if self.skipped:
            return "skipped: another process is reconciling"
        text = (
            f"relayed {self.relayed}, sent again {self.sent_again}, "
            f"failed by RQ {self.failed_by_rq}, handed back {self.handed_back}"
        )
        return text + ("; Redis did not answer, the rest waits for the next pass" if self.redis_down else "")


def reconcile(
    *,
    timing: Timing | None = None,
    exception_handlers: Sequence[Callable] = (),
    wait: bool = False,
    owner: str = "",
) -> Report:
    """Run one pass (see the module docstring). `wait`: wait for a pass running elsewhere instead of skipping."""
    timing = timing or Timing.from_settings()
    report = Report()
    queues = {name: get_queue(name) for name in settings.RQ_QUEUES}
    conn = next(iter(queues.values())).connection  # every queue shares one Redis
    handlers = [record_abandoned_job, *(h for h in exception_handlers if h is not record_abandoned_job)]
    lock_seconds = max(10, timing.stale_after)
    try:
        lock = conn.lock(LOCK_KEY, timeout=lock_seconds, blocking=wait, blocking_timeout=lock_seconds)
        if not lock.acquire(token=(owner or "reconcile").encode()):
            report.skipped = True
            return report
        try:
            pass_ = _Pass(conn, queues, timing, handlers, report)
            pass_.relay_pending()
            pass_.sweep_unsent()
            pass_.sweep_started()
        finally:
            try:
                lock.release()
            except LockError:  # it expired: the pass ran too long, someone else may hold it now
                logger.warning("The reconcile lock expired before the pass ended (%s s).", lock_seconds)
    except RedisError as exc:
        report.redis_down = True
        logger.warning("Reconcile: Redis did not answer (%s: %s); trying again next pass.", type(exc).__name__, exc)
    if report.changed:
        logger.info("Reconcile: %s.", report)
    return report


class _Pass:
    """One reconcile pass over the records of the queues this process knows."""

    def __init__(
        self, conn: Redis, queues: dict[str, Queue], timing: Timing, handlers: list[Callable], report: Report
    ) -> None:
        self.conn = conn
        self.queues = queues
        self.timing = timing
        self.handlers = handlers
        self.report = report
        self.now = timezone.now()
        self.cutoff = self.now - timedelta(seconds=timing.stale_after)

    def records(self):
        return JobRecord.objects.filter(queue__in=list(self.queues))

    # 1. relay ----------------------------------------------------------------------------------

    def relay_pending(self) -> None:
        pending = self.records().filter(status=JobStatus.PENDING).order_by("enqueued_at")
        for job_id in pending.values_list("id", flat=True)[:BATCH]:
            record = records.claim_pending(job_id)
            if record is None:
                continue  # another process took it, or it was canceled
            if not hand_over(record):  # Redis still refuses: hand_over() made it pending again
                self.report.redis_down = True
                return
            self.report.relayed += 1

    # 2. unsent ---------------------------------------------------------------------------------

    def sweep_unsent(self) -> None:
        waiting = self.records().filter(
            status__in=[JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.RETRYING], updated_at__lt=self.cutoff
        )
        after = self._cursor()
        if after is not None:
            waiting = waiting.filter(Q(updated_at__gt=after[0]) | Q(updated_at=after[0], id__gt=after[1]))
        batch = list(waiting.order_by("updated_at", "id").values_list("id", "queue", "updated_at")[:BATCH])
        # A full batch: continue after it next pass; a short one: the sweep wrapped, start over.
        if len(batch) == BATCH:
            self._set_cursor(batch[-1][2], batch[-1][0])
        else:
            self.conn.delete(CURSOR_KEY)

        seen = self._rq_states([job_id for job_id, _, _ in batch])
        dead: dict[str, list[str]] = defaultdict(list)
        waiting_in_redis: list[tuple[str, str]] = []
        for (job_id, queue_name, _), (status, worker) in zip(batch, seen, strict=True):
            if status is None:
                self._send_again(job_id)
            elif status == RQStatus.FINISHED:
                self._send_again(job_id)  # a leftover of an earlier run; hand_over() replaces it
            elif status in RQ_FAILED_STATUSES:
                reason = f"RQ {status} the job before it began an attempt here: {self._rq_reason(job_id, queue_name)}"
                if records.fail_waiting(job_id, error_type="rq.job.JobStatus", reason=reason):
                    self.report.failed_by_rq += 1
            elif status == RQStatus.STARTED and not self._alive_on(worker, job_id):
                dead[queue_name].append(job_id)  # its worker died before it recorded the attempt
            elif status in (RQStatus.QUEUED, RQStatus.SCHEDULED):
                waiting_in_redis.append((job_id, queue_name))
        for queue_name, job_ids in dead.items():
            self._hand_back_through_rq(queue_name, job_ids)
        for job_id, queue_name in self._stranded(waiting_in_redis):
            # hand_over() leaves alone a job Redis already has, so the stranded one goes first.
            if remove_from_redis(queue_name, job_id):
                self._send_again(job_id, why="Redis had it in no list or schedule a worker reads")

    def _stranded(self, candidates: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The (job id, queue) of `candidates` that no worker will ever take.

        Candidates are jobs whose RQ hash says queued or scheduled. A queued job must be in its
        queue's list (or the intermediate list a single-queue worker moves it to), a scheduled one in
        its queue's schedule. One look is not enough: a worker takes a job off the list a moment
        before it marks it started, and RQ's scheduler moves a due job in several commands. So,
        like RQ's own intermediate-list cleanup, a job counts as stranded only if a pass at least
        JOB_STALE_AFTER earlier saw it stranded too.
        """
        if not candidates:
            return []
        seen_now = self._stranded_now(candidates)
        first_seen = {as_text(job_id): float(at) for job_id, at in self.conn.hgetall(STRANDED_KEY).items()}
        confirmed = [
            (job_id, name) for job_id, name in candidates
            if job_id in seen_now and first_seen.get(job_id, float("inf")) <= self.cutoff.timestamp()
        ]  # fmt: skip
        # Forget what is settled or acted on; remember what is seen stranded for the first time.
        forget = [job_id for job_id, _ in candidates if job_id in first_seen and job_id not in seen_now]
        forget += [job_id for job_id, _ in confirmed]
        first = {job_id: self.now.timestamp() for job_id in seen_now if job_id not in first_seen}
        with self.conn.pipeline(transaction=False) as pipe:
            if forget:
                pipe.hdel(STRANDED_KEY, *forget)
            if first:
                pipe.hset(STRANDED_KEY, mapping=first)
                pipe.expire(STRANDED_KEY, 24 * 3600)  # ids of records that went away meanwhile
            pipe.execute()
        return confirmed

    def _stranded_now(self, candidates: list[tuple[str, str]]) -> set[str]:
        """Ids of `candidates` that Redis has as queued or scheduled but in no list or schedule, now.

        Queues longer than STRANDED_SCAN_MAX are not read (see there).
        """
        names = sorted({name for _, name in candidates})
        # One MULTI: each job's status and the lists it should be in are read at the same moment.
        with self.conn.pipeline(transaction=True) as pipe:
            for name in names:
                queue = self.queues[name]
                pipe.lrange(queue.key, 0, STRANDED_SCAN_MAX)  # one more than the limit: tells a backlog
                pipe.lrange(queue.intermediate_queue_key, 0, -1)
            for job_id, name in candidates:
                pipe.hget(Job.key_for(job_id), "status")
                pipe.zscore(self.queues[name].scheduled_job_registry.key, job_id)
            replies = pipe.execute()
        lists, rest = replies[: 2 * len(names)], replies[2 * len(names) :]
        listed: dict[str, set[str]] = {}  # only queues short enough to be read whole
        for name, ids, intermediate in zip(names, lists[::2], lists[1::2], strict=True):
            if len(ids) <= STRANDED_SCAN_MAX:
                listed[name] = {as_text(job_id) for job_id in (*ids, *intermediate)}
        found = set()
        for (job_id, name), status, score in zip(candidates, rest[::2], rest[1::2], strict=True):
            status = as_text(status) if status else None
            in_no_list = status == RQStatus.QUEUED and name in listed and job_id not in listed[name]
            if in_no_list or (status == RQStatus.SCHEDULED and score is None):
                found.add(job_id)
        return found

    def _send_again(self, job_id: str, why: str = "Redis does not hold it") -> None:
        record = self.records().filter(pk=job_id, updated_at__lt=self.cutoff).first()
        if record is None or record.status not in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.RETRYING):
            return
        logger.warning("Job %s (%s) is %s but %s; handing it over again.", job_id, record.name, record.status, why)
        if hand_over(record):
            self.report.sent_again += 1

    def _cursor(self) -> tuple[datetime, str] | None:
        raw = self.conn.get(CURSOR_KEY)
        if not raw:
            return None
        moment, _, job_id = as_text(raw).partition("|")
        return datetime.fromisoformat(moment), job_id

    def _set_cursor(self, moment: datetime, job_id: str) -> None:
        self.conn.set(CURSOR_KEY, f"{moment.isoformat()}|{job_id}", ex=24 * 3600)

    # 3. stale ----------------------------------------------------------------------------------

    def sweep_started(self) -> None:
        started = self.records().filter(status=JobStatus.STARTED, updated_at__lt=self.cutoff)
        rows = list(started.values_list("id", "queue", "worker_name", "attempts", "max_attempts")[:BATCH])
        dead: dict[str, list[str]] = defaultdict(list)
        for job_id, queue_name, worker_name, attempts, max_attempts in rows:
            if self._alive_on(worker_name, job_id):
                continue  # a long job on a live worker
            [(status, rq_worker)] = self._rq_states([job_id])
            lost = f"Worker {worker_name or '?'} stopped heartbeating while running attempt {attempts}"
            if status == RQStatus.STARTED and not self._alive_on(rq_worker, job_id):
                dead[queue_name].append(job_id)  # RQ still thinks it runs: RQ's own cleanup decides
                continue
            if status == RQStatus.STARTED:
                self._lost(job_id, worker_name, f"{lost}; RQ delivered the job again to worker {rq_worker}.", True)
            elif status in REQUEUED_STATUSES:
                self._lost(job_id, worker_name, f"{lost}; RQ has already queued the job again.", True)
            elif status in RQ_FAILED_STATUSES:
                reason = self._rq_reason(job_id, queue_name)
                self._lost(job_id, worker_name, f"{lost}; RQ {status} the job: {reason}", False)
            else:  # Redis no longer holds a run of it (lost, or a duplicate delivery ended it)
                retry = attempts < max_attempts
                outcome = "it is sent again" if retry else "no attempts are left"
                if self._lost(job_id, worker_name, f"{lost} and Redis no longer holds the job; {outcome}.", retry):
                    record = JobRecord.objects.filter(pk=job_id, status=JobStatus.RETRYING).first()
                    if record is not None:
                        hand_over(record)
        for queue_name, job_ids in dead.items():
            self._hand_back_through_rq(queue_name, job_ids)

    def _lost(self, job_id: str, worker_name: str, reason: str, retry: bool) -> bool:
        if records.worker_lost(job_id, worker_name=worker_name, reason=reason, retry=retry) is None:
            return False
        self.report.handed_back += 1
        return True

    def _hand_back_through_rq(self, queue_name: str, job_ids: list[str]) -> None:
        """Let RQ's StartedJobRegistry.cleanup retry or fail jobs whose worker is dead, now.

        RQ would do the same once the dead execution's registry entry expires (its last heartbeat
        plus a minute or more) and a worker's maintenance runs (every ten minutes). Marking the
        entry expired here only brings that forward; record_abandoned_job (among the handlers)
        writes each decision on the record before RQ applies it. RQ's maintenance lock for the queue
        keeps this from overlapping RQ's own cleanup, which would retry the same job twice.
        """
        queue = self.queues[queue_name]
        registry = StartedJobRegistry(
            queue.name, connection=self.conn, job_class=queue.job_class, serializer=queue.serializer
        )
        cleaning = self.conn.lock(queue.registry_cleaning_key, timeout=30, blocking=False)
        if not cleaning.acquire():
            logger.info("Queue %s: RQ is cleaning its registries now; handing back on the next pass.", queue.name)
            return
        try:
            entries = [as_text(entry) for entry in self.conn.zrange(registry.key, 0, -1)]
            for job_id in job_ids:
                own = [entry for entry in entries if entry.split(":", 1)[0] == job_id]
                # No entry at all (Redis lost it): add one, so RQ's cleanup still finds the job.
                self.conn.zadd(registry.key, dict.fromkeys(own or [f"{job_id}:lost"], 0))
            registry.cleanup(exception_handlers=self.handlers)
            after = self._rq_states(list(job_ids))
            self.report.handed_back += sum(1 for status, _ in after if status != RQStatus.STARTED)
        finally:
            with contextlib.suppress(LockError):  # it expired; RQ may hold it now
                cleaning.release()

    # Redis helpers -----------------------------------------------------------------------------

    def _alive_on(self, worker_name: str | None, job_id: str) -> bool:
        return liveness.is_running(self.conn, worker_name or "", job_id, stale_after=self.timing.stale_after)

    def _rq_states(self, job_ids: list[str]) -> list[tuple[str | None, str | None]]:
        """(RQ status, worker name) of each job, (None, None) for a job Redis does not hold."""
        with self.conn.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hmget(Job.key_for(job_id), "status", "worker_name")
            rows = pipe.execute()
        return [(as_text(status) if status else None, as_text(worker) if worker else None) for status, worker in rows]

    def _rq_reason(self, job_id: str, queue_name: str) -> str:
        """The last line of RQ's failure text for the job, or its status."""
        queue = self.queues[queue_name]
        try:
            job = Job.fetch(job_id, connection=self.conn, serializer=queue.serializer)
            result = job.latest_result()
        except (NoSuchJobError, ValueError):
            return "no reason recorded"
        text = (getattr(result, "exc_string", "") or "").strip()
        return text.splitlines()[-1] if text else f"RQ recorded no reason (status {job.get_status(refresh=False)})"
