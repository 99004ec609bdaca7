"""Django Tasks on a real `manage.py rqworker`, observed through the Tasks API and the admin.

The worker never imports tests.jobapp.tasks at start-up; it finds each task by the module path
in its job. Every wait goes through `TaskResult.refresh()`, i.e. through the database.
"""

from __future__ import annotations

import asyncio
import datetime
import uuid

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks import TaskResult, TaskResultStatus
from rq import Queue
from rq.job import Job

from jobregistry import JobRecord, JobStatus
from jobregistry.models import JobAttempt

from .jobapp import tasks
from .test_worker import wait_for_end
from .waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def wait_for_task(result: TaskResult, timeout: float = 60) -> TaskResult:
    """Refresh `result` until it is SUCCESSFUL or FAILED; returns it."""

    def finished() -> bool:
        result.refresh()
        return result.is_finished

    wait_until(finished, timeout=timeout, what=f"task {result.id} to finish")
    return result


def test_a_task_enqueued_in_a_transaction_runs_only_after_commit(worker, redis_conn):
    with transaction.atomic():
        result = tasks.add.enqueue(2, 3)
        # Uncommitted: Redis has no job, so the worker cannot have started it.
        assert not Job.exists(result.id, connection=redis_conn)
        assert JobRecord.objects.get(pk=result.id).status == JobStatus.QUEUED
    wait_for_task(result)
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 5


def test_the_result_is_read_from_the_database_after_redis_forgot_the_job(worker, redis_conn):
    result = wait_for_task(tasks.add.enqueue(20, 22))
    Job.fetch(result.id, connection=redis_conn, serializer="rq.serializers.JSONSerializer").delete()
    assert not Job.exists(result.id, connection=redis_conn)

    again = tasks.add.get_result(result.id)
    assert again.status == TaskResultStatus.SUCCESSFUL
    assert again.return_value == 42
    assert (again.args, again.kwargs, again.errors) == ([20, 22], {}, [])
    assert (again.worker_ids, again.attempts) == ([worker.name], 1)
    assert again.enqueued_at <= again.started_at == again.last_attempted_at <= again.finished_at


def test_a_failing_task_shows_its_error_through_the_tasks_api_and_in_the_admin(worker, admin_client):
    marker = uuid.uuid4().hex
    result = wait_for_task(tasks.fail.enqueue(marker))

    assert result.status == TaskResultStatus.FAILED
    with pytest.raises(ValueError, match="Task failed"):
        result.return_value  # noqa: B018 -- Django's API raises for a failed task
    [error] = result.errors
    assert error.exception_class_path == "builtins.ValueError"
    assert error.exception_class is ValueError
    assert error.traceback.startswith("Traceback (most recent call last)")
    assert "in fail" in error.traceback
    assert f"ValueError: task failed ({marker})" in error.traceback

    record = JobRecord.objects.get(pk=result.id)
    assert (record.status, record.error_type) == (JobStatus.FAILED, "builtins.ValueError")
    assert record.error_message == f"task failed ({marker})"
    assert record.error_traceback == error.traceback
    assert record.data["args"] == [marker]  # kept, to see what failed

    page = admin_client.get(reverse("admin:jobregistry_jobrecord_change", args=[result.id]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "tasks:tests-jobapp-tasks-fail" in html
    assert "builtins.ValueError" in html
    assert f"task failed ({marker})" in html
    assert "Traceback (most recent call last)" in html

    # Django's task_finished signal fired in the worker; django-tasks logs a failure at ERROR.
    wait_until(lambda: f"Task id={result.id} path=tests.jobapp.tasks.fail state=FAILED" in worker.log())


def test_retries_from_the_backend_options_show_each_failed_attempt(worker):
    result = wait_for_task(tasks.flaky.enqueue())
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 2
    assert result.attempts == 2
    [error] = result.errors
    assert error.exception_class_path == "builtins.RuntimeError"
    assert "first attempt fails" in error.traceback
    # task_finished is for the end of a task, not for an attempt that is retried.
    assert f"Task id={result.id} path=tests.jobapp.tasks.flaky state=FAILED" not in worker.log()


def test_a_failing_signal_receiver_is_logged_and_does_not_fail_the_task(worker):
    result = wait_for_task(tasks.with_a_broken_receiver.enqueue())
    assert (result.status, result.return_value) == (TaskResultStatus.SUCCESSFUL, "done")
    wait_until(lambda: "RuntimeError: a task_finished receiver failed" in worker.log(), what="the receiver's error")


def test_a_task_that_takes_context_sees_its_own_result(worker):
    result = wait_for_task(tasks.whoami.enqueue())
    assert result.return_value == {"id": result.id, "attempt": 1, "status": "RUNNING", "workers": [worker.name]}


def test_an_async_task_enqueued_with_aenqueue_runs_and_aget_result_reads_it(worker):
    result = asyncio.run(tasks.async_add.aenqueue(2, 3))
    wait_for_task(result)
    again = asyncio.run(tasks.async_add.aget_result(result.id))
    assert (again.status, again.return_value) == (TaskResultStatus.SUCCESSFUL, 5)


def test_a_result_that_is_not_json_fails_the_task_naming_it(worker):
    result = wait_for_task(tasks.returns_a_set.enqueue())
    assert result.status == TaskResultStatus.FAILED
    assert result.errors[0].exception_class_path == "jobregistry.errors.InvalidJobData"
    assert "result is a builtins.set" in JobRecord.objects.get(pk=result.id).error_message


def test_run_after_delays_the_task_until_then(worker):
    run_after = timezone.now() + datetime.timedelta(seconds=1.5)
    result = tasks.echo.using(run_after=run_after).enqueue("later")
    assert result.status == TaskResultStatus.READY
    assert JobRecord.objects.get(pk=result.id).status == JobStatus.SCHEDULED

    wait_for_task(result)
    assert result.status == TaskResultStatus.SUCCESSFUL
    print(f"run_after: started {(result.started_at - run_after).total_seconds():.2f} s after run_after")
    assert result.started_at >= run_after
    assert tasks.echo.get_result(result.id).task.run_after == run_after


def test_a_run_after_in_the_past_runs_at_once(worker):
    # Looked at before commit: once committed, the running worker may finish it at once.
    with transaction.atomic():
        result = tasks.echo.using(run_after=timezone.now() - datetime.timedelta(hours=1)).enqueue("now")
        assert JobRecord.objects.get(pk=result.id).status == JobStatus.QUEUED  # not scheduled
    assert wait_for_task(result).status == TaskResultStatus.SUCCESSFUL


def test_a_positive_priority_goes_to_the_front_of_the_queue(start_worker):
    # Nothing works `ordered` yet, so every task waits; then one worker takes them one by one.
    on_ordered = tasks.echo.using(queue_name="ordered")
    results = {
        "first": on_ordered.enqueue("first"),
        "second": on_ordered.enqueue("second"),
        "urgent": on_ordered.using(priority=10).enqueue("urgent"),
        "unimportant": on_ordered.using(priority=-50).enqueue("unimportant"),
        "most urgent": on_ordered.using(priority=100).enqueue("most urgent"),
        "last": on_ordered.enqueue("last"),
    }
    start_worker("ordered")
    for result in results.values():
        assert wait_for_task(result).status == TaskResultStatus.SUCCESSFUL

    ran = [
        attempt.record.data["args"][0]
        for attempt in JobAttempt.objects.filter(record_id__in=[r.id for r in results.values()])
        .select_related("record")
        .order_by("started_at")
    ]
    # As documented: positive priorities run first, the newest of them first (RQ pushes to the
    # front); everything else keeps its order, negative priorities included.
    assert ran == ["most urgent", "urgent", "first", "second", "unimportant", "last"]


def test_a_raw_task_job_naming_a_missing_task_fails_with_that_reason(worker, redis_conn):
    queue = Queue("default", connection=redis_conn, serializer="rq.serializers.JSONSerializer")
    payload = {"task": "tests.jobapp.gone.task", "args": [], "kwargs": {}, "backend": "default", "run_after": None}
    job = queue.enqueue("jobregistry.runner.run_job", "tasks:tests-jobapp-gone-task", payload)
    done = wait_for_end(job.id)
    assert done.status == JobStatus.FAILED
    assert done.error_type == "jobregistry.errors.UnknownJobType"
    assert "The task 'tests.jobapp.gone.task' cannot be imported" in done.error_message
