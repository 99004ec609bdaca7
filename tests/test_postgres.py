"""Many workers on one queue against PostgreSQL: each job runs once per attempt, no record goes backwards,
and a database restart between jobs costs no job.

PostgreSQL only (the production database; SQLite serialises writers and would prove little):
bin/test runs this module in a second pass with TEST_DATABASE_URL=postgres://...  A trigger logs
every change of every job record during a test, so "never backwards" is checked on every write
the workers made, not only on the final state.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
from django.db import connection, transaction
from rq.queue import Queue

from jobregistry import JobRecord, JobStatus
from jobregistry.models import JobAttempt

from .conftest import PRIVATE_QUEUE, enqueue_private
from .test_worker import wait_for_end
from .waiting import wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.postgres,
    pytest.mark.usefixtures("postgres_only"),
]

WAITING = {"pending", "queued", "scheduled", "retrying"}
# Every transition jobregistry may make without an operator (retry_job() is the one way back).
ALLOWED = {
    None: {"pending", "queued", "scheduled", "started"},
    "pending": {"queued", "scheduled", "failed", "canceled"},
    "queued": {"started", "pending", "failed", "canceled"},
    "scheduled": {"started", "pending", "failed", "canceled"},
    "retrying": {"started", "pending", "failed", "canceled"},
    "started": {"started", "retrying", "finished", "failed"},
    "finished": set(),
    "failed": set(),
    "canceled": set(),
}


@pytest.fixture
def transitions():
    """Log (job, old status, new status, old attempts, new attempts) for every write to a job record."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE TABLE test_jobrecord_transitions (
                seq bigserial PRIMARY KEY, job_id varchar(64), old_status varchar(16), new_status varchar(16),
                old_attempts integer, new_attempts integer);
            CREATE FUNCTION test_log_jobrecord() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    INSERT INTO test_jobrecord_transitions (job_id, new_status, new_attempts)
                    VALUES (NEW.id, NEW.status, NEW.attempts);
                ELSE
                    INSERT INTO test_jobrecord_transitions (job_id, old_status, new_status, old_attempts, new_attempts)
                    VALUES (NEW.id, OLD.status, NEW.status, OLD.attempts, NEW.attempts);
                END IF;
                RETURN NEW;
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER test_log_jobrecord AFTER INSERT OR UPDATE ON jobregistry_jobrecord
                FOR EACH ROW EXECUTE FUNCTION test_log_jobrecord();
            """
        )

    def read() -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT job_id, old_status, new_status, old_attempts, new_attempts "
                "FROM test_jobrecord_transitions ORDER BY seq"
            )
            return cursor.fetchall()

    yield read
    with connection.cursor() as cursor:
        cursor.execute(
            "DROP TRIGGER test_log_jobrecord ON jobregistry_jobrecord; DROP FUNCTION test_log_jobrecord(); "
            "DROP TABLE test_jobrecord_transitions;"
        )


def backwards(log: list[tuple]) -> list[tuple]:
    """The logged writes that moved a record to a status it may not reach from where it was, or lowered attempts."""
    return [
        row
        for row in log
        if row[2] not in ALLOWED[row[1]] or (row[3] is not None and row[4] < row[3])
        if not (row[1] == row[2] and row[1] in WAITING)  # a touch of a waiting record
    ]


def wait_all_ended(ids: list[str], timeout: float = 300) -> None:
    wait_until(
        lambda: JobRecord.objects.filter(pk__in=ids, status__in=["finished", "failed", "canceled"]).count() == len(ids),
        timeout=timeout,
        what=f"{len(ids)} jobs to end",
    )


def test_500_jobs_on_3_workers_run_once_each_and_no_record_goes_backwards(private_redis, spawn_worker, transitions):
    workers = [
        spawn_worker(redis=private_redis),
        spawn_worker(redis=private_redis),
        spawn_worker("--worker-class", "jobregistry.worker.SimpleWorker", redis=private_redis),
    ]
    began = time.monotonic()
    ids: list[str] = []
    for batch in range(10):  # the workers start on the first batches while the rest are enqueued
        with transaction.atomic():
            ids += [enqueue_private("test:echo", {"n": batch * 50 + n}).pk for n in range(50)]
    wait_all_ended(ids)
    took = time.monotonic() - began

    finished = JobRecord.objects.filter(pk__in=ids, status=JobStatus.FINISHED)
    runs = Counter(JobAttempt.objects.filter(record_id__in=ids).values_list("record_id", flat=True))
    finished_runs = JobAttempt.objects.filter(record_id__in=ids, outcome="finished").count()
    per_worker = Counter(finished.values_list("worker_name", flat=True))
    log = transitions()
    wrong = backwards(log)
    out_of_order = [
        r.pk
        for r in finished
        if not (r.enqueued_at <= r.started_at <= r.finished_at) or (r.attempts, r.progress) != (1, 100)
    ]
    print(
        f"\n[500 jobs, 3 workers (2 forking, 1 simple), PostgreSQL] enqueued {len(ids)}, "
        f"finished {finished.count()}, failed {JobRecord.objects.filter(pk__in=ids, status='failed').count()}, "
        f"lost {len(ids) - finished.count()}; runs per job {sorted(Counter(runs.values()).items())} "
        f"(runs per job: number of jobs), finished runs {finished_runs}; per worker {sorted(per_worker.values())}; "
        f"record writes logged {len(log)}, backwards {len(wrong)}, out of order {len(out_of_order)}; {took:.1f} s"
    )
    assert finished.count() == 500
    assert set(runs.values()) == {1} and len(runs) == 500 and finished_runs == 500
    assert wrong == [] and out_of_order == []
    assert set(per_worker) == {w.name for w in workers}, "every worker took part"
    for job_id in ids[:: len(ids) // 20]:  # each record's own history, in full, for a sample
        assert [(old, new) for jid, old, new, _, _ in log if jid == job_id] == [
            (None, "queued"),
            ("queued", "started"),
            ("started", "finished"),
        ]


def test_duplicate_deliveries_of_the_same_job_still_run_it_once(private_redis, spawn_worker, transitions):
    workers = [
        spawn_worker(redis=private_redis),
        spawn_worker(redis=private_redis),
        spawn_worker("--worker-class", "jobregistry.worker.SimpleWorker", redis=private_redis),
    ]
    with transaction.atomic():
        ids = [enqueue_private("test:sleep", {"seconds": 0.3}).pk for _ in range(40)]
    queue = Queue(PRIVATE_QUEUE, connection=private_redis.conn)
    for job_id in ids:
        # Three more deliveries of each id, as a replayed list might make: at the head of the queue, so
        # workers take them side by side, while the first delivery of the same id waits at the tail.
        private_redis.conn.lpush(queue.key, job_id, job_id, job_id)
    deliveries = len(ids) * 4
    wait_all_ended(ids)

    def refusals() -> tuple[int, int]:
        logs = "".join(w.log() for w in workers)
        return logs.count("is already running on worker"), logs.count("is finished; not running it again")

    wait_until(lambda: sum(refusals()) >= deliveries - len(ids), timeout=120, what="every delivery to be taken")
    refused_running, refused_ended = refusals()
    runs = Counter(JobAttempt.objects.filter(record_id__in=ids).values_list("record_id", flat=True))
    wrong = backwards(transitions())
    finished = JobRecord.objects.filter(pk__in=ids, status=JobStatus.FINISHED).count()
    print(
        f"\n[duplicate deliveries, 3 workers, PostgreSQL] jobs {len(ids)}, deliveries {deliveries}, "
        f"finished {finished}, failed {len(ids) - finished}, lost 0; runs {sum(runs.values())}; "
        f"refused while running elsewhere {refused_running}, refused as already finished {refused_ended}; "
        f"backwards {len(wrong)}"
    )
    assert finished == len(ids)
    assert set(runs.values()) == {1} and len(runs) == len(ids)
    assert refused_running + refused_ended == deliveries - len(ids)
    assert wrong == []


@pytest.mark.parametrize("worker_class", ["jobregistry.worker.Worker", "jobregistry.worker.SimpleWorker"])
def test_a_database_restart_between_jobs_costs_no_job(private_redis, spawn_worker, worker_class):
    # Persistent connections (CONN_MAX_AGE) are where a restarted database bites: the socket is dead.
    worker = spawn_worker("--worker-class", worker_class, redis=private_redis, env={"CONN_MAX_AGE": "600"})
    first = enqueue_private("test:echo", {"n": 1})
    assert wait_for_end(first.pk).status == JobStatus.FINISHED
    time.sleep(1.5)  # a reconcile pass too, so the worker holds its connection between jobs

    with connection.cursor() as cursor:  # what a PostgreSQL restart does to every client
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        terminated = cursor.fetchone()[0]

    after = [enqueue_private("test:echo", {"n": n}) for n in (2, 3)]
    done = [wait_for_end(record.pk) for record in after]
    print(
        f"\n[database restart between jobs, {worker_class.rsplit('.', 1)[1]}, CONN_MAX_AGE=600] "
        f"worker connections terminated {terminated}; jobs after it: "
        f"{[(d.status, d.attempts) for d in done]}; worker alive {worker.process.poll() is None}"
    )
    assert terminated >= 1, "the worker held a database connection between jobs"
    assert [(d.status, d.attempts) for d in done] == [(JobStatus.FINISHED, 1), (JobStatus.FINISHED, 1)]
    assert worker.process.poll() is None


def test_the_per_job_statements_bind_on_the_server_and_still_show_in_djangos_query_log():
    from django.test.utils import CaptureQueriesContext

    from jobregistry import enqueue_job, records

    with CaptureQueriesContext(connection) as queries:
        record = enqueue_job("test:echo", {"n": 1}, delay=3_600_000)  # scheduled: no worker takes it
        attempt = records.start_attempt(record.pk, name="test:echo", queue="default", data={}, worker_name="w-test")
        assert records.finish_attempt(attempt, {"ok": True})
    statements = [query["sql"] for query in queries]
    assert [sql.split()[0] for sql in statements] == ["INSERT", "WITH", "WITH"], statements
    assert "$1" in statements[0]  # bound on the server (Django's own cursors quote values into the text)
    done = JobRecord.objects.get(pk=record.pk)
    assert (done.status, done.attempts, done.result, done.worker_name) == (
        JobStatus.FINISHED,
        1,
        {"ok": True},
        "w-test",
    )
    assert list(done.attempt_log.values_list("outcome", flat=True)) == [JobAttempt.Outcome.FINISHED]


def test_the_hot_statements_share_one_cursor_per_connection_and_survive_errors_and_reconnects():
    from django.db import IntegrityError

    from jobregistry import enqueue_job, records
    from jobregistry.hot_cursor import hot_cursor

    def raw_cursor():
        with hot_cursor(transaction.get_connection()) as cursor:
            return cursor.cursor

    first = enqueue_job("test:echo", {"n": 1}, delay=3_600_000)  # scheduled: no worker takes it
    shared = raw_cursor()
    second = enqueue_job("test:echo", {"n": 2}, delay=3_600_000)
    assert raw_cursor() is shared and not shared.closed

    # A failed statement (a duplicate id) raises Django's error and leaves the cursor usable.
    duplicate = JobRecord(id=first.pk, name="test:echo", data={})
    with pytest.raises(IntegrityError):
        records.insert_new(duplicate)
    third = enqueue_job("test:echo", {"n": 3}, delay=3_600_000)
    assert raw_cursor() is shared

    # After a reconnect the new connection gets a cursor of its own; the old one is never reused.
    connection.close()
    fourth = enqueue_job("test:echo", {"n": 4}, delay=3_600_000)
    assert raw_cursor() is not shared
    rows = JobRecord.objects.filter(pk__in=[r.pk for r in (first, second, third, fourth)])
    assert sorted(rows.values_list("data__n", flat=True)) == [1, 2, 3, 4]
