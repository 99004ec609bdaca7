"""enqueue_job(): refusals in the caller, the record, and the hand-over to Redis after commit.

Jobs here are delayed by an hour where the test reads Redis, so a running worker cannot take
them away mid-test; the worker's behaviour is tested in test_worker.py.
"""

import dataclasses
import datetime
import json
import uuid
import zlib

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from jobregistry import (
    InvalidJobData,
    InvalidJobName,
    InvalidJobOptions,
    JobRecord,
    JobStatus,
    UnknownJobType,
    enqueue_job,
    enqueue_jobs,
)

pytestmark = pytest.mark.django_db(transaction=True)
AN_HOUR_MS = 3_600_000


def job_id() -> str:
    return f"t-{uuid.uuid4().hex}"


def nothing_stored() -> bool:
    # Only "test:refused" jobs are checked: a worker may still be finishing other tests' jobs.
    return not JobRecord.objects.filter(name__in=["test:refused", "Email.Send", "email:send"]).exists()


def test_a_bad_name_is_refused_with_the_rule():
    with pytest.raises(InvalidJobName, match=r"Invalid job name 'Email.Send'.*<feature>:<action>"):
        enqueue_job("Email.Send", {})
    assert nothing_stored()


def test_an_unknown_name_is_refused_in_the_caller():
    with pytest.raises(UnknownJobType, match=r"Unknown job type 'email:send'; registered job types: .*test:echo"):
        enqueue_job("email:send", {"to": "ada@example.com"})
    assert nothing_stored()


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        ({"when": datetime.datetime(2026, 1, 1)}, r"data\['when'\] is a datetime\.datetime"),
        ({"nested": {"ids": [1, 2, {3}]}}, r"data\['nested'\]\['ids'\]\[2\] is a builtins\.set"),
        ({"blob": b"\x00\x01"}, r"data\['blob'\] is a builtins\.bytes"),
        ({1: "int key"}, r"data has the key 1 of type int; JSON object keys must be strings"),
        ({"ratio": float("nan")}, r"data\['ratio'\] is nan, which JSON cannot represent"),
        ({"obj": object()}, r"data\['obj'\] is a builtins\.object"),
        (["a", "list"], r"must be a dict of JSON values \(or a dataclass instance\), got list"),
        ("a string", r"got str"),
        (None, r"got NoneType"),
    ],
)
def test_non_json_data_is_refused_naming_the_field(data, pattern):
    with pytest.raises(InvalidJobData, match=pattern):
        enqueue_job("test:refused", data)
    assert nothing_stored()


@pytest.mark.parametrize(
    ("options", "pattern"),
    [
        ({"attempts": 0}, r"attempts must be an integer from 1 to 100"),
        ({"attempts": "3"}, r"attempts must be an integer"),
        ({"backoff": {"type": "linear", "delay": 10}}, r"backoff type must be one of \('exponential', 'fixed'\)"),
        ({"backoff": {"type": "fixed", "delay": -1}}, r"backoff delay must be a non-negative integer"),
        ({"backoff": {"kind": "fixed"}}, r"backoff must be a dict like"),
        ({"backoff": 1000}, r"backoff must be a dict like"),
        ({"delay": -5}, r"delay must not be negative"),
        ({"delay": "soon"}, r"delay must be milliseconds"),
        ({"queue": "nope"}, r"Unknown queue 'nope'; configured queues \(JOB_QUEUES\): default, low"),
        ({"job_id": "has:colon"}, r"job_id must be 1 to 64 letters, digits"),
        ({"job_id": "x" * 65}, r"job_id must be 1 to 64"),
        ({"priority": 101}, r"priority must be an integer from -100 to 100, got 101"),
        ({"priority": 1.5}, r"priority must be an integer"),
        ({"priority": True}, r"priority must be an integer"),
    ],
)
def test_bad_options_are_refused(options, pattern):
    with pytest.raises(InvalidJobOptions, match=pattern):
        enqueue_job("test:refused", {}, **options)
    assert nothing_stored()


def test_a_dataclass_payload_becomes_a_dict():
    @dataclasses.dataclass
    class Payload:
        upload_id: int
        mime: str

    record = enqueue_job("test:echo", Payload(7, "image/png"), delay=AN_HOUR_MS)
    assert JobRecord.objects.get(pk=record.pk).data == {"upload_id": 7, "mime": "image/png"}


def test_the_record_is_written_and_the_job_reaches_redis_as_json(redis_conn):
    record = enqueue_job(
        "test:echo", {"n": 1}, attempts=3, backoff={"type": "exponential", "delay": 1000}, delay=AN_HOUR_MS
    )
    stored = JobRecord.objects.get(pk=record.pk)
    assert stored.status == JobStatus.SCHEDULED
    assert (stored.name, stored.queue, stored.max_attempts, stored.attempts) == ("test:echo", "default", 3, 0)
    assert stored.backoff == {"type": "exponential", "delay": 1000}

    raw = redis_conn.hget(f"rq:job:{record.pk}", "data")
    func, _instance, args, _kwargs = json.loads(zlib.decompress(raw))  # JSON, not pickle
    assert func == "jobregistry.runner.run_job"
    assert args == ["test:echo", {"n": 1}]
    assert record.pk in ScheduledJobRegistry("default", connection=redis_conn).get_job_ids()


def test_the_record_is_one_insert_and_comes_back_as_a_saved_row(redis_conn):
    with CaptureQueriesContext(connection) as queries:  # Django's cursor: query logs and wrappers see it
        record = enqueue_job("test:echo", {"n": 1}, priority=-3, delay=AN_HOUR_MS)  # no worker touches it
    assert [query["sql"].split()[0] for query in queries] == ["INSERT"]
    stored = JobRecord.objects.get(pk=record.pk)
    assert (stored.enqueued_at, stored.updated_at, stored.priority) == (record.enqueued_at, record.updated_at, -3)
    assert stored.enqueued_at is not None and stored.data == {"n": 1}
    record.validate_unique()  # a saved row, not a new one clashing with itself
    record.priority = 5
    record.save()
    assert JobRecord.objects.get(pk=record.pk).priority == 5


def test_a_rolled_back_transaction_leaves_neither_record_nor_job(redis_conn):
    the_id = job_id()
    with pytest.raises(RuntimeError, match="caller failed"), transaction.atomic():
        enqueue_job("test:echo", {"n": 1}, job_id=the_id)
        assert JobRecord.objects.filter(pk=the_id).exists()  # visible inside the transaction
        assert not Job.exists(the_id, connection=redis_conn)  # but not handed over yet
        raise RuntimeError("caller failed")
    assert not JobRecord.objects.filter(pk=the_id).exists()
    assert not Job.exists(the_id, connection=redis_conn)


def test_the_job_reaches_redis_only_after_commit(redis_conn):
    the_id = job_id()
    with transaction.atomic():
        enqueue_job("test:echo", {}, job_id=the_id, delay=AN_HOUR_MS)
        assert not Job.exists(the_id, connection=redis_conn)
    assert Job.exists(the_id, connection=redis_conn)


def test_the_same_job_id_twice_makes_one_job(redis_conn):
    the_id = job_id()
    first = enqueue_job("test:echo", {"n": 1}, job_id=the_id, delay=AN_HOUR_MS)
    second = enqueue_job("test:echo", {"n": 2}, job_id=the_id, delay=AN_HOUR_MS)
    assert first.pk == second.pk == the_id
    assert JobRecord.objects.filter(pk=the_id).count() == 1
    assert JobRecord.objects.get(pk=the_id).data == {"n": 1}
    scheduled = ScheduledJobRegistry("default", connection=redis_conn).get_job_ids()
    assert scheduled.count(the_id) == 1


def test_a_job_id_taken_by_another_job_type_is_refused():
    the_id = job_id()
    enqueue_job("test:echo", {}, job_id=the_id, delay=AN_HOUR_MS)
    with pytest.raises(InvalidJobOptions, match=r"already used by a 'test:echo' job; cannot reuse it for 'test:low'"):
        enqueue_job("test:low", {}, job_id=the_id)


def test_the_job_types_queue_is_the_default(redis_conn):
    record = enqueue_job("test:low", {}, delay=AN_HOUR_MS)
    assert record.queue == "low"
    assert record.pk in ScheduledJobRegistry("low", connection=redis_conn).get_job_ids()


def test_a_positive_priority_puts_the_job_at_the_front_of_its_queue(redis_conn):
    waiting = enqueue_job("test:echo", {"n": 1}, delay=AN_HOUR_MS)
    urgent = enqueue_job("test:echo", {"n": 2}, delay=AN_HOUR_MS, priority=1)
    assert (waiting.priority, urgent.priority) == (0, 1)
    # RQ keeps the flag on a delayed job and honours it when the job falls due.
    assert redis_conn.hget(f"rq:job:{urgent.pk}", "enqueue_at_front") == b"1"
    assert redis_conn.hget(f"rq:job:{waiting.pk}", "enqueue_at_front") in (None, b"0")


def test_enqueue_jobs_writes_every_record_and_hands_all_over_in_one_go(redis_conn):
    records = enqueue_jobs("test:echo", [{"n": n} for n in range(50)], attempts=2, delay=AN_HOUR_MS)
    assert len(records) == 50 and len({r.pk for r in records}) == 50
    stored = JobRecord.objects.filter(pk__in=[r.pk for r in records])
    assert sorted(r.data["n"] for r in stored) == list(range(50))
    assert {(r.status, r.max_attempts) for r in stored} == {(JobStatus.SCHEDULED, 2)}
    scheduled = set(ScheduledJobRegistry("default", connection=redis_conn).get_job_ids())
    assert {r.pk for r in records} <= scheduled


def test_enqueue_jobs_refuses_the_whole_batch_naming_the_bad_payload():
    with pytest.raises(InvalidJobData, match=r"payloads\[2\]\['when'\] is a datetime\.datetime"):
        enqueue_jobs("test:refused", [{"ok": 1}, {"ok": 2}, {"when": datetime.datetime(2026, 1, 1)}])
    assert nothing_stored()


def test_enqueue_jobs_in_a_rolled_back_transaction_leaves_nothing(redis_conn):
    with pytest.raises(RuntimeError), transaction.atomic():
        records = enqueue_jobs("test:refused", [{"n": 1}, {"n": 2}])
        raise RuntimeError("caller failed")
    assert nothing_stored()
    assert not any(Job.exists(r.pk, connection=redis_conn) for r in records)


def test_enqueue_jobs_of_nothing_is_nothing():
    assert enqueue_jobs("test:echo", []) == []
