"""RQ jobs pushed into Redis by hand, not through enqueue_job(): each fails cleanly with its reason, unrun.

The shared worker reads every job with RQ's JSON serializer and runs only jobregistry's
dispatcher, so a pickled payload is never unpickled and another function is never imported.
After each hostile job the same worker process still runs ordinary jobs.
"""

from __future__ import annotations

import pickle
import uuid
import zlib
from pathlib import Path

import pytest
from rq.queue import Queue

from jobregistry import JobRecord, JobStatus, enqueue_job
from jobregistry.models import JobAttempt

from .test_worker import wait_for_end

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

JSON = "rq.serializers.JSONSerializer"


class CreatesFileWhenUnpickled:
    """A payload that, if anyone unpickled it, would create `path` (pickle calls open(path, 'w'))."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def still_works(worker) -> None:
    """The worker that met the bad job is the same process and still runs jobs."""
    assert worker.process.poll() is None
    record = enqueue_job("test:echo", {"after": "hostile job"})
    assert wait_for_end(record.pk).status == JobStatus.FINISHED


def test_a_pickled_payload_is_refused_and_never_unpickled(worker, redis_conn, tmp_path):
    marker = tmp_path / "unpickled"
    pickling_queue = Queue("default", connection=redis_conn)  # RQ's default serializer: pickle
    payload = {"payload": CreatesFileWhenUnpickled(marker)}
    job = pickling_queue.enqueue("jobregistry.runner.run_job", "test:echo", payload)

    done = wait_for_end(job.id)
    print(f"\n[pickled payload] enqueued 1 raw job; {done.status}: {done.error_message}")
    assert done.status == JobStatus.FAILED
    assert done.error_type == "rq.exceptions.DeserializationError"
    assert "payload is not JSON, so it was neither decoded nor run" in done.error_message
    assert done.attempts == 1 and JobAttempt.objects.filter(record=done, outcome="failed").count() == 1
    assert not marker.exists(), "the worker unpickled the payload"

    # The payload was live: unpickling it here, on purpose, creates the file.
    pickle.loads(zlib.decompress(redis_conn.hget(f"rq:job:{job.id}", "data")))
    assert marker.exists()
    still_works(worker)


def test_a_job_hash_rq_cannot_read_is_recorded_and_the_worker_goes_on(worker, redis_conn):
    job_id = f"garbled-{uuid.uuid4().hex}"
    redis_conn.hset(
        f"rq:job:{job_id}", mapping={"data": b"\x00not zlib, not json", "status": "no-such-status", "origin": "default"}
    )
    redis_conn.rpush("rq:queue:default", job_id)

    done = wait_for_end(job_id)
    print(f"\n[unreadable job hash] pushed 1; {done.status}: {done.error_message}")
    assert done.status == JobStatus.FAILED
    assert done.error_type == "builtins.ValueError"
    assert "Redis holds an RQ job hash that RQ cannot read" in done.error_message
    assert "no-such-status" in done.error_message
    assert done.data["rq_job_hash"]["status"] == "b'no-such-status'"
    assert 0 < redis_conn.ttl(f"rq:job:{job_id}") <= 24 * 3600  # kept a day to look at, then gone
    still_works(worker)


def test_a_job_naming_another_function_is_refused_without_importing_it(worker, redis_conn, tmp_path):
    target = tmp_path / "made-by-rq"
    queue = Queue("default", connection=redis_conn, serializer=JSON)
    job = queue.enqueue("os.mkdir", str(target))

    done = wait_for_end(job.id)
    print(f"\n[foreign function] enqueued 1 raw job calling os.mkdir; {done.status}: {done.error_message}")
    assert done.status == JobStatus.FAILED
    assert done.error_type == "jobregistry.errors.NotARegistryJob"
    assert "calls 'os.mkdir'; jobregistry workers only run jobregistry.runner.run_job" in done.error_message
    assert done.name == "os.mkdir"
    assert not target.exists()
    still_works(worker)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("test:echo",), {}, "passed 1 positional argument(s)."),
        (("test:echo", {}, "extra"), {}, "passed 3 positional argument(s)."),
        (("test:echo",), {"data": {}}, "passed 1 positional argument(s) and the keyword(s) data."),
    ],
)
def test_a_job_calling_the_dispatcher_with_the_wrong_arguments_fails_with_that_reason(
    worker, redis_conn, args, kwargs, message
):
    queue = Queue("default", connection=redis_conn, serializer=JSON)
    job = queue.enqueue("jobregistry.runner.run_job", *args, **kwargs)
    done = wait_for_end(job.id)
    assert done.status == JobStatus.FAILED
    assert done.error_type == "jobregistry.errors.InvalidJobData"
    assert done.error_message == f"An RQ job must call run_job(name, data); this one {message}"
    assert done.attempts == 1


def test_a_raw_job_with_a_payload_that_is_not_an_object_fails_with_that_reason(worker, redis_conn):
    queue = Queue("default", connection=redis_conn, serializer=JSON)
    job = queue.enqueue("jobregistry.runner.run_job", "test:echo", ["not", "an", "object"])
    done = wait_for_end(job.id)
    assert done.status == JobStatus.FAILED
    assert done.error_message == "Job data must be a JSON object, got list."
    assert JobRecord.objects.get(pk=job.id).data == {"raw": "['not', 'an', 'object']"}
