"""`manage.py reconcile_jobs`: what an operator runs when no worker is there to reconcile."""

from __future__ import annotations

import pytest
from django.conf import settings
from rq.job import Job
from rq.queue import Queue

from jobregistry import JobRecord, JobStatus
from jobregistry.liveness import look_up

from .conftest import PRIVATE_QUEUE, enqueue_private, run_manage
from .test_worker_death import wait_started
from .waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def reconcile_jobs(redis) -> str:
    done = run_manage("reconcile_jobs", env=redis.env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_command_fails_the_job_of_a_dead_worker_but_not_before_it_is_stale(private_redis, spawn_worker):
    victim = spawn_worker(redis=private_redis)
    record = enqueue_private("test:sleep", {"seconds": 300})
    wait_started(record.pk)
    victim.kill_all()

    early = reconcile_jobs(private_redis)  # silent for less than JOB_STALE_AFTER: maybe just slow
    assert early == "relayed 0, sent again 0, failed by RQ 0, handed back 0"
    assert JobRecord.objects.get(pk=record.pk).status == JobStatus.STARTED

    wait_until(
        lambda: not look_up(private_redis.conn, victim.name).alive(settings.JOB_STALE_AFTER),
        timeout=60,
        what="the dead worker's heartbeat to go stale",
    )
    later = reconcile_jobs(private_redis)
    done = JobRecord.objects.get(pk=record.pk)
    print(f"\n[reconcile_jobs, dead worker, no other worker] before stale: {early!r}; after: {later!r}; {done.status}")
    assert later == "relayed 0, sent again 0, failed by RQ 0, handed back 1"
    assert done.status == JobStatus.FAILED
    assert done.error_type == "jobregistry.errors.WorkerLost"
    assert Job.fetch(record.pk, connection=private_redis.conn).get_status() == "failed"  # RQ agrees


def test_the_command_relays_pending_jobs_once_redis_is_back(private_redis):
    private_redis.stop()
    record = enqueue_private("test:echo", {"n": 1})
    assert JobRecord.objects.get(pk=record.pk).status == JobStatus.PENDING

    refused = run_manage("reconcile_jobs", env=private_redis.env)
    assert refused.returncode != 0
    assert "Redis did not answer" in refused.stderr

    private_redis.start()
    output = reconcile_jobs(private_redis)
    print(f"\n[reconcile_jobs, Redis back, no worker] {output!r}")
    assert output == "relayed 1, sent again 0, failed by RQ 0, handed back 0"
    assert JobRecord.objects.get(pk=record.pk).status == JobStatus.QUEUED
    assert Queue(PRIVATE_QUEUE, connection=private_redis.conn).get_job_ids() == [record.pk]
    assert reconcile_jobs(private_redis) == "relayed 0, sent again 0, failed by RQ 0, handed back 0"  # not twice
    assert Queue(PRIVATE_QUEUE, connection=private_redis.conn).get_job_ids() == [record.pk]
