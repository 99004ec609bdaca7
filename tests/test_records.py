"""records.py: every transition is guarded, so a late, repeated or lost write never moves a record backwards.

These call the transitions directly, in the order a race or a crash would bring them; the
worker-level proofs (duplicate deliveries, 500 jobs on 3 workers) are in test_postgres.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from jobregistry import JobRecord, JobStatus, enqueue_job, records
from jobregistry.models import JobAttempt

pytestmark = pytest.mark.django_db
AN_HOUR_MS = 3_600_000


def new_record(**options) -> JobRecord:
    return enqueue_job("test:echo", {"n": 1}, delay=AN_HOUR_MS, **options)  # delayed: no worker takes it


def start(record: JobRecord, worker: str, running_elsewhere: bool = False) -> records.StartedAttempt | None:
    return records.start_attempt(
        record.pk,
        name=record.name,
        queue=record.queue,
        data=record.data,
        worker_name=worker,
        still_running_elsewhere=lambda _record: running_elsewhere,
    )


def state(record: JobRecord) -> tuple[str, int, str]:
    fresh = JobRecord.objects.get(pk=record.pk)
    return fresh.status, fresh.attempts, fresh.worker_name


def test_a_late_start_never_overwrites_finished():
    record = new_record()
    attempt = start(record, "w1")
    assert records.finish_attempt(attempt, {"ok": True})
    assert start(record, "w2") is None  # a duplicate delivery arriving after the end
    assert start(record, "w1") is None
    fresh = JobRecord.objects.get(pk=record.pk)
    assert (fresh.status, fresh.attempts, fresh.result) == (JobStatus.FINISHED, 1, {"ok": True})
    assert JobAttempt.objects.filter(record=record).count() == 1


def test_writes_of_an_earlier_attempt_change_nothing_once_a_newer_one_runs():
    record = new_record(attempts=3)
    first = start(record, "w1")
    assert records.worker_lost(record.pk, worker_name="w1", reason="w1 was killed", retry=True) == JobStatus.RETRYING
    second = start(record, "w2")
    assert second.number == 2
    # w1's horse comes back from the dead with its outcome: every write misses.
    assert not records.finish_attempt(first, {"late": True})
    assert not records.fail_attempt(first, error_type="X", error_message="late", error_traceback="", retry_at=None)
    assert not records.set_progress(first, 99, "late")
    assert records.worker_lost(record.pk, worker_name="w1", reason="late report", retry=False) is None
    assert state(record) == (JobStatus.STARTED, 2, "w2")
    assert records.finish_attempt(second, "done")
    assert state(record) == (JobStatus.FINISHED, 2, "w2")


def test_a_duplicate_delivery_while_the_first_still_runs_does_not_start_a_second_run():
    record = new_record(attempts=3)
    start(record, "w1")
    assert start(record, "w2", running_elsewhere=True) is None
    assert state(record) == (JobStatus.STARTED, 1, "w1")
    assert JobAttempt.objects.filter(record=record).count() == 1


def test_a_redelivery_after_the_first_worker_died_closes_its_attempt_and_starts_the_next():
    record = new_record(attempts=3)
    start(record, "w1")
    second = start(record, "w2", running_elsewhere=False)
    assert second.number == 2
    lost = JobAttempt.objects.get(record=record, number=1)
    assert (lost.outcome, lost.error_type) == ("failed", "jobregistry.errors.WorkerLost")
    assert lost.error_message == "Worker w1 stopped while running attempt 1; RQ delivered the job again to worker w2."


def test_worker_lost_ends_only_the_attempt_of_the_worker_named():
    record = new_record(attempts=2)
    start(record, "w1")
    assert records.worker_lost(record.pk, worker_name="w2", reason="not w1", retry=False) is None
    assert state(record) == (JobStatus.STARTED, 1, "w1")


def test_worker_lost_waits_the_jobs_backoff_before_the_retry():
    record = new_record(attempts=3, backoff={"type": "exponential", "delay": 1000})
    start(record, "w1")
    records.worker_lost(record.pk, worker_name="w1", reason="killed", retry=True)
    fresh = JobRecord.objects.get(pk=record.pk)
    assert fresh.status == JobStatus.RETRYING
    assert timedelta(seconds=0.9) < fresh.scheduled_for - fresh.updated_at <= timedelta(seconds=1)
    assert (fresh.error_type, fresh.error_message) == ("jobregistry.errors.WorkerLost", "killed")


@pytest.mark.parametrize(("retry", "expected"), [(True, JobStatus.SCHEDULED), (False, JobStatus.FAILED)])
def test_a_worker_lost_before_the_attempt_began_fails_the_record_only_if_rq_will_not_retry(retry, expected):
    record = new_record()
    records.worker_lost(record.pk, worker_name="w1", reason="died before starting", retry=retry)
    assert state(record)[0] == expected


def test_a_pending_record_is_claimed_once():
    record = new_record()
    assert records.mark_pending(record.pk, "Redis down")
    assert records.claim_pending(record.pk).status == JobStatus.SCHEDULED
    assert records.claim_pending(record.pk) is None


def test_refusing_a_job_that_already_ended_changes_nothing():
    record = new_record()
    records.finish_attempt(start(record, "w1"), "done")
    refused = records.refuse_job(
        record.pk, name="x", queue="default", data={}, worker_name="w2", error_type="E", error_message="bad"
    )
    assert not refused
    assert state(record) == (JobStatus.FINISHED, 1, "w1")
