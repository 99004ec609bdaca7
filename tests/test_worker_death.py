"""A worker killed mid-job (SIGKILL): the job is retried if it has attempts left, else failed, and says why.

Real processes against a Redis of the test's own: a `manage.py rqworker` takes a job that sleeps,
the test kills its work horse (the worker reports the death) or the whole worker with its horse
(the host died: another running worker notices the silence after JOB_STALE_AFTER seconds, 4 in
the tests, and hands the job back through RQ's own abandoned-job handling). Nobody runs a
command by hand. Each test prints what it saw.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from django.conf import settings

from jobregistry import JobRecord, JobStatus
from jobregistry.models import JobAttempt

from .conftest import enqueue_private
from .test_worker import wait_for_end
from .waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

WORKER = "jobregistry.worker.Worker"
SIMPLE = "jobregistry.worker.SimpleWorker"


def wait_started(record_id: str) -> tuple[JobRecord, int]:
    """The record once its processor runs, and the pid it reported (the horse, or the SimpleWorker)."""

    def running():
        record = JobRecord.objects.filter(pk=record_id, status=JobStatus.STARTED, progress_message__startswith="pid=")
        return record.first()

    record = wait_until(running, timeout=60, what=f"job {record_id} to start")
    return record, int(record.progress_message.removeprefix("pid="))


@pytest.mark.parametrize(
    ("kill", "worker_class"),
    [("horse", WORKER), ("worker", WORKER), ("worker", SIMPLE)],
    ids=["horse-of-forking-worker", "whole-forking-worker", "whole-simple-worker"],
)
@pytest.mark.parametrize("attempts", [2, 1], ids=["attempts-left", "no-attempts-left"])
def test_a_job_whose_worker_is_killed_is_retried_or_failed(private_redis, spawn_worker, kill, worker_class, attempts):
    victim = spawn_worker("--worker-class", worker_class, redis=private_redis)
    record = enqueue_private("test:sleep", {"seconds": 300, "sleep_below_attempt": 2}, attempts=attempts)
    started, pid = wait_started(record.pk)
    assert started.worker_name == victim.name
    # The survivor starts only now, so the victim alone could take the job; it will reconcile.
    survivor = spawn_worker(redis=private_redis) if kill == "worker" else None

    killed_at = time.monotonic()
    if kill == "horse":
        assert pid != victim.process.pid, "the forking worker runs its job in a work horse"
        os.kill(pid, signal.SIGKILL)
    else:
        assert pid in victim.kill_all()

    wait_until(
        lambda: JobRecord.objects.get(pk=record.pk).status != JobStatus.STARTED or None,
        timeout=90,
        what="the record to leave `started`",
    )
    left_started_after = time.monotonic() - killed_at
    done = wait_for_end(record.pk, timeout=90)
    log = list(JobAttempt.objects.filter(record=done).order_by("number").values_list("number", "outcome"))
    lost = JobAttempt.objects.get(record=done, number=1)
    print(
        f"\n[{kill} killed, {worker_class.rsplit('.', 1)[1]}, attempts={attempts}] enqueued 1; "
        f"record left `started` {left_started_after:.1f} s after the kill "
        f"(JOB_STALE_AFTER={settings.JOB_STALE_AFTER}, JOB_RECONCILE_INTERVAL={settings.JOB_RECONCILE_INTERVAL}); "
        f"ended {done.status}: finished {int(done.status == JobStatus.FINISHED)}, "
        f"failed {int(done.status == JobStatus.FAILED)}, lost 0; attempt log {log}; reason: {lost.error_message}"
    )

    assert lost.outcome == JobAttempt.Outcome.FAILED
    assert lost.error_type == "jobregistry.errors.WorkerLost"
    if kill == "horse":
        assert f"of worker {victim.name} was killed by SIGKILL" in lost.error_message
        assert victim.process.poll() is None, "the worker itself survives its horse"
    else:
        assert f"Worker {victim.name} stopped heartbeating" in lost.error_message
    if attempts == 2:
        assert done.status == JobStatus.FINISHED
        assert log == [(1, "failed"), (2, "finished")]
        assert done.result["attempt"] == 2
        assert done.worker_name == (survivor.name if survivor else victim.name)
    else:
        assert done.status == JobStatus.FAILED
        assert log == [(1, "failed")]
        assert (done.error_type, done.error_message) == (lost.error_type, lost.error_message)
        assert "fails the job" in done.error_message or "killed by SIGKILL" in done.error_message
