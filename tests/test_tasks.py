"""The Tasks backend in the caller: names, refusals, the record and the hand-over after commit.

Tasks here that must not run are delayed by an hour; what the worker does is in test_tasks_worker.py.
"""

from __future__ import annotations

import datetime
import json
import zlib

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from django_tasks import TaskResultStatus, default_task_backend, task, task_backends
from django_tasks.exceptions import InvalidTaskBackendError, InvalidTaskError, TaskResultDoesNotExist
from django_tasks.signals import task_enqueued
from rq.job import Job

from jobregistry import InvalidJobData, JobRecord, JobStatus, enqueue_job, register_job_processor, registry
from jobregistry.registry import JOB_NAME_PATTERN
from jobregistry.task_names import NAME_MAX, claim_job_name, job_name_for_path
from jobregistry.tasks_backend import JobRegistryBackend

from .jobapp import tasks

pytestmark = pytest.mark.django_db(transaction=True)
BACKEND = "jobregistry.tasks_backend.JobRegistryBackend"


def in_an_hour() -> datetime.datetime:
    return timezone.now() + datetime.timedelta(hours=1)


# --- names ---------------------------------------------------------------------------------------


def test_the_default_backend_is_the_registry_and_says_what_it_supports():
    backend = task_backends["default"]
    assert isinstance(backend, JobRegistryBackend)
    assert (backend.supports_defer, backend.supports_priority, backend.supports_get_result) == (True, True, True)
    assert backend.queues == set(settings.RQ_QUEUES)  # every queue in JOB_QUEUES


def test_a_task_gets_a_job_name_from_its_module_path_without_writing_one():
    assert job_name_for_path(tasks.add.module_path) == "tasks:tests-jobapp-tasks-add"
    assert registry.get("tasks:tests-jobapp-tasks-add").func_path == "jobregistry.task_jobs.run_task"


@pytest.mark.parametrize(
    "path",
    [
        "billing.tasks.SendInvoice",
        "billing.tâches.envoyer",
        "very.deep." + "package." * 20 + "send",
        "a" * 200,
    ],
)
def test_paths_that_do_not_map_one_to_one_get_a_stable_hashed_name_that_follows_the_rule(path):
    name = job_name_for_path(path)
    assert JOB_NAME_PATTERN.fullmatch(name)
    assert len(name) <= NAME_MAX
    assert name == job_name_for_path(path)  # deterministic: web and workers agree
    assert name != job_name_for_path(path + "x")


def test_the_name_limit_matches_the_record():
    assert JobRecord._meta.get_field("name").max_length == NAME_MAX


def test_two_paths_on_one_name_are_refused_naming_both():
    from jobregistry import task_names

    # Real paths meet only through a hash collision, which no test can find; stage one instead.
    name = job_name_for_path("tests.jobapp.tasks.add")
    task_names._claimed[name] = "other.path"
    try:
        with pytest.raises(InvalidTaskError, match=r"Tasks other\.path and tests\.jobapp\.tasks\.add both map to"):
            claim_job_name("tests.jobapp.tasks.add")
    finally:
        task_names._claimed[name] = "tests.jobapp.tasks.add"


def noop(job):
    return None


def test_a_task_whose_name_a_processor_holds_is_refused_at_decoration():
    register_job_processor("tasks:tests-test_tasks-taken", noop)
    try:
        with pytest.raises(InvalidTaskError, match=r"registered to the processor tests\.test_tasks\.noop"):
            task(taken)
    finally:
        registry.unregister("tasks:tests-test_tasks-taken")


def taken() -> None:
    """A module-level function whose job name a processor holds in the test above."""


# --- refusals in the caller ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: tasks.add.enqueue(1, {2}), r"args\[1\] is a builtins\.set"),
        (lambda: tasks.echo.enqueue(when=datetime.datetime(2026, 1, 1)), r"kwargs\['when'\] is a datetime\.datetime"),
        (lambda: tasks.echo.enqueue([1, b"\x00"]), r"args\[0\]\[1\] is a builtins\.bytes"),
        (lambda: tasks.echo.enqueue(ratio=float("nan")), r"kwargs\['ratio'\] is nan"),
        (lambda: tasks.echo.enqueue({1: "int key"}), r"args\[0\] has the key 1 of type int"),
    ],
)
def test_arguments_that_are_not_json_are_refused_in_the_caller_naming_the_argument(call, pattern):
    with pytest.raises(InvalidJobData, match=r"Cannot enqueue task tests\.jobapp\.tasks\.(add|echo): .*" + pattern):
        call()
    assert not JobRecord.objects.exists()


def test_a_task_the_worker_could_not_import_by_its_path_is_refused_in_the_caller():
    with pytest.raises(InvalidTaskError, match=r"'tests\.jobapp\.tasks\._hidden' is a function, not a task"):
        tasks.renamed.enqueue()
    assert not JobRecord.objects.exists()


@pytest.mark.parametrize(
    ("options", "error", "pattern"),
    [
        ({"queue_name": "nope"}, InvalidTaskError, r"Queue 'nope' is not valid for backend"),
        ({"priority": 101}, InvalidTaskError, r"priority must be a whole number between -100 and 100"),
        ({"run_after": datetime.datetime(2030, 1, 1)}, InvalidTaskError, r"run_after must be an aware datetime"),
        ({"backend": "nope"}, InvalidTaskBackendError, r"The connection 'nope' doesn't exist"),
    ],
)
def test_bad_task_options_are_refused(options, error, pattern):
    with pytest.raises(error, match=pattern):
        tasks.add.using(**options).enqueue(1, 2)
    assert not JobRecord.objects.exists()


@pytest.mark.parametrize(
    ("params", "pattern"),
    [
        ({"OPTIONS": {"retries": 3}}, r"TASKS\['default'\]\['OPTIONS'\] has unknown options \['retries'\]; .*"),
        ({"OPTIONS": {"attempts": 0}}, r"TASKS\['default'\]\['OPTIONS'\]: attempts must be an integer from 1 to 100"),
        ({"OPTIONS": {"backoff": {"type": "linear"}}}, r"backoff type must be one of"),
        ({"OPTIONS": ["attempts", 3]}, r"TASKS\['default'\]\['OPTIONS'\] must be a dict"),
        ({"QUEUE": ["default"]}, r"TASKS\['default'\] has unknown settings \['QUEUE'\]"),
    ],
)
def test_unknown_or_bad_backend_options_are_refused_with_what_is_known(params, pattern):
    with override_settings(TASKS={"default": {"BACKEND": BACKEND, **params}}):
        with pytest.raises(InvalidTaskBackendError, match=pattern) as excinfo:
            task_backends["default"]  # building the backend is what fails
        assert isinstance(excinfo.value, ImproperlyConfigured)


def test_the_system_check_reports_task_queues_no_worker_listens_on():
    with override_settings(TASKS={"default": {"BACKEND": BACKEND, "QUEUES": ["default", "nowhere"]}}):
        errors = list(task_backends["default"].check())
    assert [e.id for e in errors] == ["jobregistry.E002"]
    assert "['nowhere']" in errors[0].msg


def test_options_set_the_retry_policy_of_every_task_of_the_backend():
    result = tasks.flaky.using(run_after=in_an_hour()).enqueue()
    record = JobRecord.objects.get(pk=result.id)
    assert (record.max_attempts, record.backoff) == (2, None)


# --- the record and Redis --------------------------------------------------------------------------


def test_enqueue_writes_a_record_and_hands_a_json_job_to_redis(redis_conn):
    run_after = in_an_hour()
    result = tasks.echo.using(run_after=run_after, priority=5, queue_name="low").enqueue(1, "two", three=[3])
    assert result.status == TaskResultStatus.READY
    assert (result.args, result.kwargs, result.backend) == ([1, "two"], {"three": [3]}, "default")
    assert result.enqueued_at is not None and result.started_at is None
    assert (result.errors, result.worker_ids, result.attempts) == ([], [], 0)

    record = JobRecord.objects.get(pk=result.id)
    assert (record.name, record.queue, record.priority, record.status) == (
        "tasks:tests-jobapp-tasks-echo",
        "low",
        5,
        JobStatus.SCHEDULED,
    )
    assert record.data == {
        "task": "tests.jobapp.tasks.echo",
        "args": [1, "two"],
        "kwargs": {"three": [3]},
        "backend": "default",
        "run_after": run_after.isoformat(),
    }
    assert record.scheduled_for >= run_after

    func, _instance, args, _kwargs = json.loads(zlib.decompress(redis_conn.hget(f"rq:job:{result.id}", "data")))
    assert (func, args) == ("jobregistry.runner.run_job", ["tasks:tests-jobapp-tasks-echo", record.data])


def test_get_result_of_a_waiting_task_reads_the_record():
    run_after = in_an_hour()
    result = tasks.add.using(run_after=run_after, priority=-3).enqueue(2, 3)
    again = tasks.add.get_result(result.id)
    assert again.status == TaskResultStatus.READY
    assert (again.task.func, again.task.priority, again.task.run_after) == (tasks.add.func, -3, run_after)
    assert (again.args, again.kwargs) == ([2, 3], {})
    with pytest.raises(ValueError, match="Task has not finished yet"):
        again.return_value  # noqa: B018 -- Django's API raises on a task still waiting


def test_get_result_of_an_unknown_id_or_of_a_plain_job_does_not_exist():
    plain = enqueue_job("test:echo", {}, delay=3_600_000)
    for result_id in ["no-such-id", plain.pk]:
        with pytest.raises(TaskResultDoesNotExist):
            default_task_backend.get_result(result_id)


def test_a_task_enqueued_in_a_transaction_reaches_redis_only_after_commit(redis_conn):
    heard: list[str] = []

    def on_enqueued(sender, task_result, **kwargs):
        heard.append(task_result.id)

    task_enqueued.connect(on_enqueued)
    try:
        with transaction.atomic():
            result = tasks.add.using(run_after=in_an_hour()).enqueue(1, 2)
            assert JobRecord.objects.filter(pk=result.id).exists()
            assert not Job.exists(result.id, connection=redis_conn)
            assert heard == []  # enqueued means committed
        assert Job.exists(result.id, connection=redis_conn)
        assert heard == [result.id]
    finally:
        task_enqueued.disconnect(on_enqueued)


def test_a_rolled_back_transaction_leaves_no_task(redis_conn):
    with pytest.raises(RuntimeError, match="caller failed"), transaction.atomic():
        result = tasks.add.enqueue(1, 2)
        raise RuntimeError("caller failed")
    assert not JobRecord.objects.filter(pk=result.id).exists()
    assert not Job.exists(result.id, connection=redis_conn)
    with pytest.raises(TaskResultDoesNotExist):
        tasks.add.get_result(result.id)
