"""jobregistry's RQ workers: RQ's Worker and SimpleWorker, made so that no job is lost and none stays stuck.

ReliableWorkerMixin goes in front of either RQ class and adds:

- heartbeats at least every JOB_STALE_AFTER/4 seconds, idle or busy, carrying the id of the job
  being run, so other workers can tell a dead worker from a busy one (liveness.py);
- a reconcile pass every JOB_RECONCILE_INTERVAL seconds (reconcile.py): pending records relayed
  to Redis, lost ones handed over again, those of dead workers retried or failed;
- a work horse that dies (SIGKILL, out of memory) ends its attempt on the record before RQ retries
  or fails the job;
- RQ jobs that are not jobregistry's are refused and recorded, never run: another function, a
  payload that is not JSON (nothing is unpickled), an RQ job hash that cannot be read;
- database connections handled per job as Django handles them per request: close_old_connections
  before and after every job, and no fork with an open connection;
- a Redis outage is waited out: the worker reconnects instead of exiting;
- fewer Redis round trips than RQ between jobs: a heartbeat is one pipeline, and a heartbeat or
  state that repeats what the worker wrote under a second ago is not sent again (RecentWrites).

Example:
    python manage.py rqworker                                           # SimpleWorker: jobs run in the worker
    python manage.py rqworker --worker-class jobregistry.worker.Worker  # a work horse per job
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import redis.exceptions
import rq.worker
from django.conf import settings
from django.db import close_old_connections, connections
from django.db.backends.signals import connection_created
from rq.defaults import DEFAULT_JOB_MONITORING_INTERVAL
from rq.intermediate_queue import IntermediateQueue
from rq.job import Job
from rq.queue import Queue
from rq.utils import as_text

from . import handlers, records
from .errors import NotARegistryJob, error_type_name
from .liveness import CURRENT_JOB_FIELD
from .reconcile import reconcile
from .timing import Timing
from .transport import DISPATCH_FUNC, RESULT_TTL_SECONDS

REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class ReliableWorkerMixin:
    """Mix in front of rq.Worker or rq.SimpleWorker (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Read before RQ's __init__, which already asks for dequeue_timeout.
        self._timing = Timing.from_settings()
        self._current_job_id = ""
        self._next_reconcile = 0.0
        self._burst = False
        self._busy_heartbeat: _BusyHeartbeat | None = None  # SimpleWorker only, started by work()
        self._recent_writes = RecentWrites()  # before RQ's __init__, which may set the state
        given = kwargs.get("exception_handlers") or []
        given = list(given) if isinstance(given, list | tuple) else [given]
        # Ours first: a handler of the project's that returns False must not hide a failure from the records.
        kwargs["exception_handlers"] = [handlers.record_unrunnable_job, handlers.record_abandoned_job, *given]
        kwargs["job_monitoring_interval"] = min(
            kwargs.get("job_monitoring_interval", DEFAULT_JOB_MONITORING_INTERVAL), self._timing.heartbeat_every
        )
        super().__init__(*args, **kwargs)
        # RQ backs off up to 60 s between reconnection attempts; come back soon after Redis does.
        self.max_connection_wait_time = float(self._timing.heartbeat_every)

    @property
    def forks(self) -> bool:
        """True for a worker that runs each job in a forked work horse."""
        return isinstance(self, rq.worker.Worker)

    # --- the work loop ---------------------------------------------------------------------------

    def work(self, burst: bool = False, *args: Any, **kwargs: Any) -> bool:
        self._burst = burst
        if not settings.JOB_WORKER_DURABLE_COMMIT:
            connection_created.connect(relax_commit_durability, dispatch_uid="jobregistry-worker-commit")
            connections.close_all()  # reopened with the setting on first use
        if not self.forks:  # nothing else heartbeats while a SimpleWorker runs a job
            self._busy_heartbeat = _BusyHeartbeat(self)
            self._busy_heartbeat.start()
        try:
            return super().work(burst, *args, **kwargs)
        finally:
            if self._busy_heartbeat is not None:
                self._busy_heartbeat.stop()
                self._busy_heartbeat = None

    @property
    def dequeue_timeout(self) -> int:
        # An idle worker wakes up to heartbeat and reconcile, instead of blocking for RQ's 405 s.
        return max(1, min(super().dequeue_timeout, self._timing.heartbeat_every, self._timing.reconcile_every))

    def dequeue_job_and_maintain_ttl(self, timeout: int | None, max_idle_time: int | None = None):
        while True:
            try:
                return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
            except REDIS_DOWN as exc:  # raised outside RQ's own retry loop (its first and last calls)
                self.log.error("Worker %s: Redis did not answer (%s); waiting for it.", self.name, exc)
                time.sleep(self._timing.heartbeat_every)
            except Exception as exc:
                if getattr(exc, "job_id", None) is None:
                    raise
                # RQ could not read a job hash it dequeued; without this every worker would exit on it.
                self._refuse_unreadable_job(exc)

    def check_for_suspension(self, burst: bool) -> None:
        with self._surviving_redis("suspension check"):
            super().check_for_suspension(burst)

    @property
    def should_run_maintenance_tasks(self) -> bool:
        return super().should_run_maintenance_tasks or time.monotonic() >= self._next_reconcile

    def run_maintenance_tasks(self) -> None:
        if super().should_run_maintenance_tasks:
            # RQ's registry cleaning can hand back abandoned jobs, through record_abandoned_job.
            with self._surviving_redis("RQ maintenance"), self._database():
                super().run_maintenance_tasks()
        self._reconcile_if_due()

    def teardown(self) -> None:
        with self._surviving_redis("shutdown"):
            super().teardown()

    # --- one job ---------------------------------------------------------------------------------

    def execute_job(self, job: Job, queue: Queue) -> None:
        self._current_job_id = job.id
        if self.forks:
            connections.close_all()  # a forked horse must not share the parent's database socket
        else:
            close_old_connections()
        try:
            super().execute_job(job, queue)
        except REDIS_DOWN as exc:
            # The outcome is on the record already; Redis's view is set straight by reconcile passes.
            self.log.error("Worker %s: lost Redis while finishing job %s (%s).", self.name, job.id, exc)
        finally:
            if self._busy_heartbeat is not None:
                self._busy_heartbeat.job_ended()
            self._current_job_id = ""
            close_old_connections()

    def prepare_execution(self, job: Job):
        execution = super().prepare_execution(job)
        if self._busy_heartbeat is not None:
            self._busy_heartbeat.job_started(job, execution)
        return execution

    def perform_job(self, job: Job, queue: Queue, execution) -> bool:
        if not self.is_horse:  # in-process: execute_job() already brackets the job
            return super().perform_job(job, queue, execution)
        close_old_connections()
        try:
            return super().perform_job(job, queue, execution)
        finally:
            connections.close_all()  # the horse exits next: close the connection properly

    def prepare_job_execution(self, job: Job, remove_from_intermediate_queue: bool = False) -> None:
        # RQ reads the payload here first; one that is not JSON raises DeserializationError.
        super().prepare_job_execution(job, remove_from_intermediate_queue)
        if job.func_name != DISPATCH_FUNC:
            raise NotARegistryJob(
                f"RQ job {job.id} calls {job.func_name!r}; jobregistry workers only run {DISPATCH_FUNC}, "
                "so it was refused without importing or calling it."
            )

    def handle_work_horse_killed(self, job: Job, retpid: int, ret_val: int, rusage: Any) -> None:
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)
        reason = f"The work horse (pid {retpid}) of worker {self.name} {describe_exit(ret_val)} while running this job."
        try:
            with self._database():
                records.worker_lost(job.id, worker_name=self.name, reason=reason, retry=job.should_retry)
        except Exception:  # RQ must still retry or fail the job; a reconcile pass fixes the record
            self.log.exception("Worker %s: could not record the death of job %s's work horse.", self.name, job.id)

    # --- heartbeats ------------------------------------------------------------------------------

    def serialize(self) -> dict:
        return {**super().serialize(), CURRENT_JOB_FIELD: self._current_job_id}

    def heartbeat(self, timeout: int | None = None, pipeline=None) -> None:
        if pipeline is not None:
            super().heartbeat(timeout, pipeline)
            pipeline.hset(self.key, CURRENT_JOB_FIELD, self._current_job_id)
            self._recent_writes.note("heartbeat", self._current_job_id)
            return
        # RQ beats three times between one job and the next, a few milliseconds apart.
        if timeout is None and self._recent_writes.repeats("heartbeat", self._current_job_id):
            return
        # One round trip, not RQ's three; the fields need no transaction.
        with self._surviving_redis("heartbeat"), self.connection.pipeline(transaction=False) as pipe:
            super().heartbeat(timeout, pipe)
            pipe.hset(self.key, CURRENT_JOB_FIELD, self._current_job_id)
            pipe.execute()
            self._recent_writes.note("heartbeat", self._current_job_id)

    def set_state(self, state: str, pipeline=None) -> None:
        # RQ sets IDLE after a job and again before the next dequeue: the second is a wasted round trip.
        if pipeline is None and self._recent_writes.repeats("state", state):
            self._state = state
            return
        super().set_state(state, pipeline)
        self._recent_writes.note("state", state)

    def maintain_heartbeats(self, job: Job, execution) -> None:
        with self._surviving_redis("heartbeat"):
            super().maintain_heartbeats(job, execution)
        if self.forks:
            self._reconcile_if_due()  # the parent is free while its horse works

    # --- helpers ---------------------------------------------------------------------------------

    def _reconcile_if_due(self) -> None:
        if time.monotonic() < self._next_reconcile:
            return
        self._next_reconcile = time.monotonic() + self._timing.reconcile_every
        self._keep_scheduler_alive()
        try:
            with self._database():
                reconcile(timing=self._timing, exception_handlers=self._exc_handlers, owner=self.name)
        except Exception:  # a database outage, say: the worker goes on and tries again next time
            self.log.exception(
                "Worker %s: reconcile pass failed; trying again in %s s.", self.name, self._timing.reconcile_every
            )

    def _keep_scheduler_alive(self) -> None:
        """Restart RQ's scheduler process if it died (it exits when Redis goes away)."""
        if self._burst or self.scheduler is None:
            return
        process = self.scheduler._process
        if process is None or not process.is_alive():
            connections.close_all()  # the scheduler is forked too
            with self._surviving_redis("scheduler restart"):
                self.scheduler.acquire_locks(auto_start=True)

    def _refuse_unreadable_job(self, exc: Exception) -> None:
        job_id: str = exc.job_id  # type: ignore[attr-defined]
        queue: Queue | None = getattr(exc, "queue", None)
        key = Job.key_for(job_id)
        raw: dict[str, str] = {}
        with self._surviving_redis("refusing an unreadable job"):
            raw = {as_text(field): repr(value[:200]) for field, value in self.connection.hgetall(key).items()}
            if queue is not None:
                IntermediateQueue(queue.key, connection=self.connection).remove(job_id)
            self.connection.expire(key, RESULT_TTL_SECONDS)  # kept a day for a look, then gone
        message = f"Redis holds an RQ job hash that RQ cannot read ({type(exc).__name__}: {exc}); it was not run."
        self.log.error("Worker %s: job %s: %s", self.name, job_id, message)
        try:
            with self._database():
                records.refuse_job(
                    job_id,
                    name=handlers.UNREADABLE_NAME,
                    queue=queue.name if queue is not None else "",
                    data={"rq_job_hash": raw},
                    worker_name=self.name,
                    error_type=error_type_name(type(exc)),
                    error_message=message,
                )
        except Exception:
            self.log.exception("Worker %s: could not record unreadable job %s.", self.name, job_id)

    @contextlib.contextmanager
    def _surviving_redis(self, doing: str) -> Iterator[None]:
        try:
            yield
        except REDIS_DOWN as exc:
            self.log.error("Worker %s: Redis did not answer during %s (%s); carrying on.", self.name, doing, exc)

    @contextlib.contextmanager
    def _database(self) -> Iterator[None]:
        """Database work outside a job, bracketed as Django brackets a request."""
        close_old_connections()
        try:
            yield
        finally:
            close_old_connections()


class RecentWrites:
    """Which worker fields this process wrote to Redis in the last `window` seconds, and with what.

    Writing the same value again that soon tells nobody anything new: liveness is judged in tens of
    seconds (JOB_STALE_AFTER), and only this worker writes its own hash.

    Example:
        >>> recent = RecentWrites()
        >>> recent.note("state", "idle")
        >>> recent.repeats("state", "idle"), recent.repeats("state", "busy")
        (True, False)
    """

    def __init__(self, window: float = 1.0) -> None:
        self.window = window
        self._written: dict[str, tuple[object, float]] = {}

    def note(self, field: str, value: object) -> None:
        self._written[field] = (value, time.monotonic())

    def repeats(self, field: str, value: object) -> bool:
        """True if `field` was last written with `value` less than `window` seconds ago."""
        last = self._written.get(field)
        return last is not None and last[0] == value and time.monotonic() - last[1] < self.window


class _BusyHeartbeat(threading.Thread):
    """Heartbeats for a SimpleWorker while its one thread runs a job: one thread for the worker's life.

    A thread per job cost more than a no-op job's whole record keeping (start and join each time).
    The lock keeps a beat from landing after its job ended: RQ's beat puts the job back in the
    started registry, where it would later be taken for abandoned.
    """

    def __init__(self, worker: ReliableWorkerMixin) -> None:
        super().__init__(name=f"heartbeat-{worker.name}", daemon=True)
        self.worker = worker
        self._running: tuple[Job, Any] | None = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def job_started(self, job: Job, execution: Any) -> None:
        with self._lock:
            self._running = (job, execution)

    def job_ended(self) -> None:
        with self._lock:  # waits for a beat in flight
            self._running = None

    def run(self) -> None:
        while not self._stopped.wait(self.worker._timing.heartbeat_every):
            with self._lock:
                if self._running is None:
                    continue  # idle: the work loop heartbeats between dequeue waits
                try:
                    self.worker.maintain_heartbeats(*self._running)
                except Exception:  # keep beating; the next one may get through
                    self.worker.log.exception("Worker %s: heartbeat failed.", self.worker.name)

    def stop(self) -> None:
        self._stopped.set()
        self.join(timeout=5)


def relax_commit_durability(sender: Any, connection: Any, **kwargs: Any) -> None:
    """On PostgreSQL, let this worker's commits return before the WAL reaches the disk.

    Every job commits twice (started, then finished); waiting for a disk flush each time costs
    more than RQ's whole job. A PostgreSQL crash (not a worker's) may then lose the last fraction
    of a second of job updates; the database stays consistent and reconcile passes run those jobs
    again, as after any lost worker. It is the durability of the SQLite default (WAL,
    synchronous=NORMAL). JOB_WORKER_DURABLE_COMMIT=true waits for every flush instead.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO off")


def describe_exit(status: int | None) -> str:
    """'was killed by SIGKILL' or 'exited with status 1', from a waitpid() status."""
    if status is not None and os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            return f"was killed by {signal.Signals(number).name}"
        except ValueError:
            return f"was killed by signal {number}"
    if status is not None and os.WIFEXITED(status):
        return f"exited with status {os.WEXITSTATUS(status)}"
    return f"ended unexpectedly (wait status {status})"


class Worker(ReliableWorkerMixin, rq.worker.Worker):
    """RQ's forking worker (a work horse per job) with jobregistry's guarantees."""


class SimpleWorker(ReliableWorkerMixin, rq.worker.SimpleWorker):
    """RQ's SimpleWorker (jobs run in the worker process) with jobregistry's guarantees; the default."""
