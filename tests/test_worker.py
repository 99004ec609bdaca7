"""The worker: a real `manage.py rqworker` process runs what enqueue_job() hands to Redis.

Every test here waits for the worker through the database, the way the admin and API see jobs.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import transaction
from rq import Queue
from rq.job import Job

from jobregistry import TERMINAL_STATUSES, JobRecord, JobStatus, enqueue_job
from jobregistry.liveness import CURRENT_JOB_FIELD
from jobregistry.models import JobAttempt

from .conftest import enqueue_private
from .waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def wait_for_end(record_id: str, timeout: float = 60) -> JobRecord:
    def ended():
        record = JobRecord.objects.filter(pk=record_id).first()
        return record if record is not None and record.status in TERMINAL_STATUSES else None

    return wait_until(ended, timeout=timeout, what=f"job {record_id} to end")


def test_a_registered_job_runs_and_its_record_ends_finished(worker):
    record = enqueue_job("test:echo", {"greeting": "hello"})
    done = wait_for_end(record.pk)
    assert done.status == JobStatus.FINISHED
    assert done.result == {"echo": {"greeting": "hello"}, "attempt": 1, "queue": "default"}
    assert (done.attempts, done.max_attempts, done.progress) == (1, 1, 100)
    assert done.worker_name == worker.name
    assert done.enqueued_at <= done.started_at <= done.finished_at
    assert done.error_type == "" and done.error_traceback == ""


def test_a_job_on_another_queue_runs_on_the_worker_started_without_queue_names(worker):
    record = enqueue_job("test:low", {"n": 1})
    done = wait_for_end(record.pk)
    assert done.status == JobStatus.FINISHED
    assert done.result["queue"] == "low"


def test_retries_with_exponential_backoff_end_finished_after_three_attempts(worker):
    record = enqueue_job("test:flaky", {"succeed_on": 3}, attempts=3, backoff={"type": "exponential", "delay": 1000})
    done = wait_for_end(record.pk)
    assert done.status == JobStatus.FINISHED, done.error_traceback
    assert done.result == {"succeeded_on": 3}
    assert done.attempts == 3

    tries = list(JobAttempt.objects.filter(record=done).order_by("started_at"))
    assert [(t.number, t.outcome) for t in tries] == [(1, "failed"), (2, "failed"), (3, "finished")]
    assert "flaky failure on attempt 1" in tries[0].error_message
    gap_1 = (tries[1].started_at - tries[0].finished_at).total_seconds()
    gap_2 = (tries[2].started_at - tries[1].finished_at).total_seconds()
    print(f"backoff gaps: {gap_1:.2f} s before retry 1 (asked 1 s), {gap_2:.2f} s before retry 2 (asked 2 s)")
    assert gap_1 >= 1.0
    assert gap_2 >= 2.0


def test_a_job_that_always_fails_ends_failed_with_its_traceback(worker):
    marker = uuid.uuid4().hex
    record = enqueue_job("test:always-fail", {"marker": marker}, attempts=2, backoff={"type": "fixed", "delay": 0})
    done = wait_for_end(record.pk)
    assert done.status == JobStatus.FAILED
    assert (done.attempts, done.max_attempts) == (2, 2)
    assert done.error_type == "builtins.ValueError"
    assert done.error_message == f"always fails ({marker})"
    assert "Traceback (most recent call last)" in done.error_traceback
    assert "in always_fail" in done.error_traceback
    assert done.data == {"marker": marker}  # the payload is kept for a retry
    assert JobAttempt.objects.filter(record=done, outcome="failed").count() == 2


def test_a_permanent_error_skips_the_remaining_attempts(worker):
    record = enqueue_job("test:permanent", {}, attempts=5)
    done = wait_for_end(record.pk)
    assert done.status == JobStatus.FAILED
    assert done.attempts == 1
    assert done.error_message == "this cannot work, do not retry"


def test_progress_is_recorded_and_a_finished_job_shows_100(worker):
    record = enqueue_job("test:progress", {})
    done = wait_for_end(record.pk)
    assert done.status == JobStatus.FINISHED
    assert done.result == "done"
    assert done.progress == 100


def test_a_result_that_is_not_json_fails_the_job_with_the_field_named(worker):
    record = enqueue_job("test:bad-result", {}, attempts=3)
    done = wait_for_end(record.pk)
    assert done.status == JobStatus.FAILED
    assert done.attempts == 1  # a processor bug is not worth retrying
    assert "result['not json'] is a builtins.set" in done.error_message


def test_a_delayed_job_waits_then_runs(worker):
    record = enqueue_job("test:echo", {}, delay=1500)
    assert JobRecord.objects.get(pk=record.pk).status == JobStatus.SCHEDULED
    done = wait_for_end(record.pk)
    assert done.status == JobStatus.FINISHED
    waited = (done.started_at - done.enqueued_at).total_seconds()
    print(f"delayed job: asked 1.5 s, started after {waited:.2f} s")
    assert waited >= 1.5


def test_a_job_enqueued_in_a_transaction_runs_after_commit(worker):
    with transaction.atomic():
        record = enqueue_job("test:echo", {"in": "transaction"})
        # Still uncommitted: nothing has reached Redis, so the worker cannot have started it.
        assert JobRecord.objects.get(pk=record.pk).status == JobStatus.QUEUED
    assert wait_for_end(record.pk).status == JobStatus.FINISHED


def test_the_same_job_id_twice_runs_once(worker):
    the_id = f"once-{uuid.uuid4().hex}"
    enqueue_job("test:echo", {"n": 1}, job_id=the_id)
    enqueue_job("test:echo", {"n": 1}, job_id=the_id)
    done = wait_for_end(the_id)
    enqueue_job("test:echo", {"n": 1}, job_id=the_id)  # after it finished, too
    assert done.status == JobStatus.FINISHED
    assert JobAttempt.objects.filter(record_id=the_id).count() == 1


def test_a_raw_rq_job_naming_an_unknown_processor_fails_with_that_reason(worker, redis_conn):
    queue = Queue("default", connection=redis_conn, serializer="rq.serializers.JSONSerializer")
    job = queue.enqueue("jobregistry.runner.run_job", "nobody:registered", {"x": 1})
    done = wait_for_end(job.id)
    assert done.status == JobStatus.FAILED
    assert done.error_type == "jobregistry.errors.UnknownJobType"
    assert "Unknown job type 'nobody:registered'" in done.error_message


def test_a_job_whose_record_was_deleted_does_not_run_or_come_back(worker, redis_conn):
    record = enqueue_job("test:echo", {}, delay=1000)
    JobRecord.objects.filter(pk=record.pk).delete()
    job = Job.fetch(record.pk, connection=redis_conn, serializer="rq.serializers.JSONSerializer")
    wait_until(lambda: job.get_status() == "finished", timeout=60, what="the worker to take the job")
    assert job.return_value() is None  # taken and dropped, not run
    assert not JobRecord.objects.filter(pk=record.pk).exists()


@pytest.mark.parametrize(
    ("worker_class", "ours"),
    [
        ("jobregistry.worker.SimpleWorker", True),
        ("rq.worker.SimpleWorker", False),  # still works; it just does not reconcile
    ],
)
def test_another_worker_class_can_be_chosen(private_redis, spawn_worker, worker_class, ours):
    worker = spawn_worker("--worker-class", worker_class, redis=private_redis)
    record = enqueue_private("test:echo", {"class": worker_class})
    done = wait_for_end(record.pk)
    assert (done.status, done.worker_name) == (JobStatus.FINISHED, worker.name)
    warned = "is not a jobregistry worker: it will not hand back dead workers' jobs" in worker.log()
    assert warned is not ours


def test_jobs_enqueued_in_bulk_all_run(worker):
    from jobregistry import enqueue_jobs

    records = enqueue_jobs("test:echo", [{"n": n} for n in range(20)])
    done = [wait_for_end(r.pk) for r in records]
    assert [d.result["echo"]["n"] for d in done] == list(range(20))
    assert {d.status for d in done} == {JobStatus.FINISHED}


def test_the_workers_hash_names_the_job_while_it_runs_and_clears_it_after(worker, redis_conn):
    record = enqueue_job("test:sleep", {"seconds": 2})
    fields = (f"rq:worker:{worker.name}", "state", CURRENT_JOB_FIELD)
    wait_until(lambda: redis_conn.hmget(*fields) == [b"busy", record.pk.encode()], what="the worker busy on the job")
    assert wait_for_end(record.pk).status == JobStatus.FINISHED
    wait_until(lambda: redis_conn.hmget(*fields) == [b"idle", b""], what="the worker idle, on no job")


def test_a_worker_skips_repeating_a_write_it_just_made_but_sends_every_change(redis_conn):
    from jobregistry.worker import SimpleWorker

    worker = SimpleWorker(["default"], connection=redis_conn, name=f"test-unit-{uuid.uuid4().hex[:8]}")
    try:
        worker.set_state("idle")
        worker.heartbeat()
        redis_conn.hdel(worker.key, "state", CURRENT_JOB_FIELD, "last_heartbeat")  # so a write would show
        worker.set_state("idle")
        worker.heartbeat()
        assert redis_conn.hmget(worker.key, "state", CURRENT_JOB_FIELD, "last_heartbeat") == [None, None, None]

        worker.set_state("busy")
        worker._current_job_id = "job-1"
        worker.heartbeat()
        assert redis_conn.hmget(worker.key, "state", CURRENT_JOB_FIELD) == [b"busy", b"job-1"]
        redis_conn.hdel(worker.key, "last_heartbeat")
        worker.heartbeat(timeout=90)  # an explicit timeout is always sent
        assert redis_conn.hget(worker.key, "last_heartbeat") is not None
    finally:
        redis_conn.delete(worker.key)
