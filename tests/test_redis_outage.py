"""Redis going away: the caller's work commits, jobs wait as `pending`, and all run once Redis is back.

Real processes against a Redis of the test's own (append-only file, fsync always, as the README
asks of production), which the tests stop and start again while workers run.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from rq.job import Job
from rq.queue import Queue

from jobregistry import JobRecord, JobStatus
from jobregistry import reconcile as reconcile_module
from jobregistry.models import JobAttempt
from jobregistry.reconcile import STRANDED_KEY, reconcile
from jobregistry.timing import Timing
from jobregistry.transport import hand_over

from .conftest import PRIVATE_QUEUE, enqueue_private, run_manage
from .test_worker import wait_for_end
from .test_worker_death import wait_started
from .waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_jobs_enqueued_while_redis_is_down_all_run_once_when_it_is_back(private_redis, spawn_worker):
    workers = [spawn_worker(redis=private_redis) for _ in range(2)]
    delayed = [enqueue_private("test:echo", {"delayed": n}, delay=3000) for n in range(5)]  # in Redis before it stops
    in_flight = enqueue_private("test:sleep", {"seconds": 2})
    wait_started(in_flight.pk)

    private_redis.stop()
    stopped_at = time.monotonic()
    for worker in workers:  # every worker has met the outage, and kept looping through it
        wait_until(
            lambda w=worker: "Reconcile: Redis did not answer" in w.log(), timeout=60, what=f"{worker.name} to see it"
        )
    ids = [enqueue_private("test:echo", {"n": n}).pk for n in range(200)]  # each call commits; Redis refuses
    pending = JobRecord.objects.filter(pk__in=ids, status=JobStatus.PENDING).count()
    assert pending == 200
    assert "Redis refused the job" in JobRecord.objects.get(pk=ids[0]).error_message
    assert wait_for_end(in_flight.pk).status == JobStatus.FINISHED  # its horse recorded it, Redis or not

    outage = time.monotonic() - stopped_at
    private_redis.start()
    restarted_at = time.monotonic()
    everything = [*ids, *(record.pk for record in delayed)]
    wait_until(
        lambda: (
            JobRecord.objects.filter(pk__in=everything, status__in=[JobStatus.FINISHED, JobStatus.FAILED]).count()
            == len(everything)
        ),
        timeout=180,
        what="all jobs to end",
    )
    drained = time.monotonic() - restarted_at

    finished = JobRecord.objects.filter(pk__in=ids, status=JobStatus.FINISHED).count()
    failed = JobRecord.objects.filter(pk__in=ids, status=JobStatus.FAILED).count()
    runs = JobAttempt.objects.filter(record_id__in=ids)
    print(
        f"\n[Redis down {outage:.1f} s, 2 workers] enqueued 200 while down: pending 200, finished {finished}, "
        f"failed {failed}, lost {200 - finished - failed}, attempts run {runs.count()}; "
        f"all done {drained:.1f} s after Redis restarted; delayed jobs kept by the append-only file: "
        f"{JobRecord.objects.filter(pk__in=[r.pk for r in delayed], status=JobStatus.FINISHED).count()}/5 finished; "
        f"job in flight at the stop: {JobRecord.objects.get(pk=in_flight.pk).status}, "
        f"{JobAttempt.objects.filter(record_id=in_flight.pk).count()} attempt"
    )
    assert (finished, failed) == (200, 0)
    assert runs.count() == 200 and runs.filter(outcome="finished").count() == 200  # one run each
    assert JobAttempt.objects.filter(record_id=in_flight.pk).count() == 1
    assert all(worker.process.poll() is None for worker in workers), "the workers rode out the outage"
    assert set(runs.values_list("worker_name", flat=True)) <= {worker.name for worker in workers}


def test_jobs_a_restarted_redis_forgot_are_sent_again_and_run_once(forgetful_redis, spawn_worker):
    ids = [enqueue_private("test:echo", {"n": n}).pk for n in range(20)]  # in Redis; no worker yet
    assert Queue(PRIVATE_QUEUE, connection=forgetful_redis.conn).count == 20
    forgetful_redis.stop()
    forgetful_redis.start()  # no append-only file: it comes back empty
    assert Queue(PRIVATE_QUEUE, connection=forgetful_redis.conn).count == 0

    restarted_at = time.monotonic()
    spawn_worker(redis=forgetful_redis)
    wait_until(
        lambda: JobRecord.objects.filter(pk__in=ids, status=JobStatus.FINISHED).count() == len(ids),
        timeout=120,
        what="the forgotten jobs to run",
    )
    runs = JobAttempt.objects.filter(record_id__in=ids)
    print(
        f"\n[Redis restarted empty] enqueued 20, forgotten by Redis 20, sent again and finished "
        f"{JobRecord.objects.filter(pk__in=ids, status=JobStatus.FINISHED).count()}, failed 0, lost 0, "
        f"runs {runs.count()}; {time.monotonic() - restarted_at:.1f} s after the restart"
    )
    assert runs.count() == 20 and runs.filter(outcome="finished").count() == 20


def test_a_record_whose_hand_over_never_happened_is_found_and_run(private_redis, spawn_worker):
    # A web process commits the record, then dies before its on_commit hand-over runs.
    crash = run_manage(
        "shell",
        "-c",
        "import os\n"
        "from django.db import transaction\n"
        "from jobregistry import enqueue_job\n"
        "with transaction.atomic():\n"
        "    transaction.on_commit(lambda: os._exit(0))  # runs first: the process dies before the hand-over\n"
        f"    print(enqueue_job('test:echo', {{'crash': 'window'}}, queue='{PRIVATE_QUEUE}').pk, flush=True)\n",
        env=private_redis.env,
    )
    job_id = crash.stdout.strip().splitlines()[-1]  # after Django shell's own chatter
    assert crash.returncode == 0, crash.stderr
    assert JobRecord.objects.get(pk=job_id).status == JobStatus.QUEUED
    assert not Job.exists(job_id, connection=private_redis.conn)

    committed_at = JobRecord.objects.get(pk=job_id).updated_at
    spawn_worker(redis=private_redis)
    done = wait_for_end(job_id)
    waited = (done.started_at - committed_at).total_seconds()
    runs = JobAttempt.objects.filter(record=done).count()
    print(
        f"\n[crash window] enqueued 1, its process died before the hand-over; found and run {waited:.1f} s "
        f"after commit; finished {int(done.status == JobStatus.FINISHED)}, failed 0, lost 0, runs {runs}"
    )
    assert done.status == JobStatus.FINISHED
    assert done.result["echo"] == {"crash": "window"}
    assert JobAttempt.objects.filter(record=done).count() == 1


def test_handing_a_record_over_twice_makes_one_job(private_redis):
    record = enqueue_private("test:echo", {"n": 1})  # handed over once on commit
    assert hand_over(JobRecord.objects.get(pk=record.pk)) is True  # and again, as a relay racing it would
    assert hand_over(JobRecord.objects.get(pk=record.pk)) is True
    queue = Queue(PRIVATE_QUEUE, connection=private_redis.conn)
    assert queue.get_job_ids().count(record.pk) == 1


def test_a_leftover_rq_job_of_an_earlier_run_is_replaced_not_mistaken_for_this_one(private_redis):
    record = enqueue_private("test:echo", {"n": 1}, delay=3_600_000)
    old = Job.fetch(record.pk, connection=private_redis.conn)
    old.set_status("failed")  # what an earlier, failed run leaves behind
    JobRecord.objects.filter(pk=record.pk).update(scheduled_for=None)
    assert hand_over(JobRecord.objects.get(pk=record.pk)) is True
    again = Job.fetch(record.pk, connection=private_redis.conn)
    assert again.get_status() == "queued"
    assert Queue(PRIVATE_QUEUE, connection=private_redis.conn).get_job_ids() == [record.pk]


def test_a_job_stranded_in_redis_by_a_killed_worker_is_found_and_run_once(private_redis, spawn_worker):
    # A worker of several queues takes a job off its queue (BLPOP) and is killed before it marks the
    # job started: RQ's hash still says queued, but the job is in no list a worker reads.
    record = enqueue_private("test:echo", {"stranded": "queued"})
    scheduled = enqueue_private("test:echo", {"stranded": "scheduled"}, delay=1000)
    queue = Queue(PRIVATE_QUEUE, connection=private_redis.conn)
    assert private_redis.conn.lrem(queue.key, 1, record.pk) == 1
    assert private_redis.conn.zrem(queue.scheduled_job_registry.key, scheduled.pk) == 1  # lost from the schedule
    assert {Job.fetch(r.pk, connection=private_redis.conn).get_status() for r in (record, scheduled)} == {
        "queued",
        "scheduled",
    }

    spawn_worker(redis=private_redis)
    done = [wait_for_end(r.pk) for r in (record, scheduled)]
    waited = [(d.started_at - d.enqueued_at).total_seconds() for d in done]
    print(f"\n[stranded in Redis] 2 jobs in no list/schedule; ran {waited[0]:.1f} s, {waited[1]:.1f} s after enqueue")
    assert [(d.status, d.result["echo"]) for d in done] == [
        (JobStatus.FINISHED, {"stranded": "queued"}),
        (JobStatus.FINISHED, {"stranded": "scheduled"}),
    ]
    assert JobAttempt.objects.filter(record__in=done).count() == 2


def test_a_stranded_job_is_sent_again_only_when_two_passes_far_enough_apart_saw_it(private_redis):
    record = enqueue_private("test:echo", {"n": 1})  # no worker runs here
    JobRecord.objects.filter(pk=record.pk).update(updated_at=timezone.now() - timedelta(seconds=30))
    queue = Queue(PRIVATE_QUEUE, connection=private_redis.conn)
    private_redis.conn.lrem(queue.key, 1, record.pk)
    timing = Timing(stale_after=1, reconcile_every=1)

    assert reconcile(timing=timing).sent_again == 0  # first sighting: a worker may be starting it right now
    assert reconcile(timing=timing).sent_again == 0  # seen again, but too soon after the first
    assert queue.get_job_ids() == []
    time.sleep(1.1)
    assert reconcile(timing=timing).sent_again == 1
    assert queue.get_job_ids() == [record.pk]
    assert Job.fetch(record.pk, connection=private_redis.conn).get_status() == "queued"
    assert reconcile(timing=timing).sent_again == 0  # back in its queue: nothing more to do
    assert not private_redis.conn.exists(STRANDED_KEY)


def test_jobs_waiting_in_their_queue_or_schedule_or_a_long_queue_are_left_alone(private_redis, monkeypatch):
    monkeypatch.setattr(reconcile_module, "STRANDED_SCAN_MAX", 3)
    timing = Timing(stale_after=1, reconcile_every=1)
    queued = enqueue_private("test:echo", {"n": 1})
    scheduled = enqueue_private("test:echo", {"n": 2}, delay=3_600_000)
    stranded = enqueue_private("test:echo", {"n": 3})
    JobRecord.objects.update(updated_at=timezone.now() - timedelta(seconds=30))
    queue = Queue(PRIVATE_QUEUE, connection=private_redis.conn)
    private_redis.conn.lrem(queue.key, 1, stranded.pk)
    # A backlog: the queue is longer than the sweep reads, so a job missing from it is not judged yet.
    private_redis.conn.rpush(queue.key, *[f"backlog-{n}" for n in range(3)])

    for _ in range(2):
        assert reconcile(timing=timing).sent_again == 0
        time.sleep(1.1)
    assert queue.get_job_ids() == [queued.pk, *[f"backlog-{n}" for n in range(3)]]
    assert scheduled.pk in queue.scheduled_job_registry.get_job_ids()

    private_redis.conn.lrem(queue.key, 0, "backlog-0")  # the backlog drains below the limit
    assert reconcile(timing=timing).sent_again == 0  # first sighting
    time.sleep(1.1)
    assert reconcile(timing=timing).sent_again == 1
    assert sorted(queue.get_job_ids()) == sorted([queued.pk, "backlog-1", "backlog-2", stranded.pk])
    assert scheduled.pk in queue.scheduled_job_registry.get_job_ids()
