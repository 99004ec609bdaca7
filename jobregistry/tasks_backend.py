"""JobRegistryBackend: Django's Tasks API (`@task`, the django-tasks backport) on the job registry.

A task enqueues through enqueue_job(): it is checked in the caller, gets a JobRecord in the
caller's transaction, reaches Redis after commit, runs in `manage.py rqworker`, shows in the admin,
and get_result() reads the record, so results outlive Redis's result TTL.

How the Tasks API maps onto the registry:
    task name      `tasks:<module-path-with-dashes>` (see task_names), one job type per function
    queue_name     the RQ queue; QUEUES defaults to every queue in JOB_QUEUES
    run_after      a delayed job, run by RQ's scheduler (never before run_after)
    priority       above 0: the front of its queue; 0 and below: the back, in order (RQ has
                   no numeric priority; see enqueue_job)
    OPTIONS        "attempts" and "backoff", as for enqueue_job; Django's API has no retries

Example:
    # settings.py
    TASKS = {"default": {"BACKEND": "jobregistry.tasks_backend.JobRegistryBackend",
                         "OPTIONS": {"attempts": 3, "backoff": {"type": "exponential", "delay": 1000}}}}

    # billing/tasks.py
    @task(priority=10)
    def send_invoice(invoice_id: int) -> dict: ...

    result = send_invoice.enqueue(42)
    send_invoice.get_result(result.id).status   # READY, RUNNING, SUCCESSFUL or FAILED
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.core import checks
from django.db import transaction
from django.utils import timezone
from django_tasks.backends.base import BaseTaskBackend
from django_tasks.base import Task, TaskResult
from django_tasks.exceptions import InvalidTaskBackendError, TaskResultDoesNotExist
from django_tasks.signals import task_enqueued

from .backoff import RetryPolicy
from .errors import InvalidJobOptions
from .task_jobs import check_importable, register_task, task_payload
from .task_names import job_name_for_path

T = TypeVar("T")
P = ParamSpec("P")

KNOWN_PARAMS = frozenset({"BACKEND", "QUEUES", "OPTIONS"})
KNOWN_OPTIONS = frozenset({"attempts", "backoff"})


class JobRegistryBackend(BaseTaskBackend):
    """Runs Django Tasks as registry jobs. Models load lazily: backends are built at `@task` time."""

    supports_defer = True
    supports_async_task = True  # Task.call() runs a coroutine function with async_to_sync
    supports_get_result = True
    supports_priority = True

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        where = f"TASKS[{alias!r}]"
        unknown = sorted(set(params) - KNOWN_PARAMS)
        if unknown:
            raise InvalidTaskBackendError(
                f"{where} has unknown settings {unknown}; {type(self).__name__} knows {sorted(KNOWN_PARAMS)}."
            )
        if "QUEUES" not in params:
            self.queues = set(settings.RQ_QUEUES)
        if not isinstance(self.options, dict):
            raise InvalidTaskBackendError(f"{where}['OPTIONS'] must be a dict, got {self.options!r}.")
        unknown = sorted(set(self.options) - KNOWN_OPTIONS)
        if unknown:
            raise InvalidTaskBackendError(
                f"{where}['OPTIONS'] has unknown options {unknown}; "
                f"{type(self).__name__} knows {sorted(KNOWN_OPTIONS)}."
            )
        try:
            self.retry_policy = RetryPolicy.build(self.options.get("attempts", 1), self.options.get("backoff"))
        except InvalidJobOptions as exc:
            raise InvalidTaskBackendError(f"{where}['OPTIONS']: {exc}") from None

    def validate_task(self, task: Task) -> None:
        """Django's checks, then the task's job name in the registry (so a clash fails at `@task`)."""
        super().validate_task(task)
        register_task(task)

    def enqueue(self, task: Task[P, T], args: P.args, kwargs: P.kwargs) -> TaskResult[T]:  # type: ignore[valid-type]
        """Enqueue through enqueue_job(); the result is READY and the job reaches Redis on commit."""
        from .enqueue import enqueue_job
        from .task_results import task_result_for

        self.validate_task(task)
        check_importable(task)
        record = enqueue_job(
            job_name_for_path(task.module_path),
            task_payload(task, args, kwargs, backend=self.alias),
            attempts=self.retry_policy.attempts,
            backoff=self.retry_policy.backoff,
            delay=_delay_until(task.run_after),
            queue=task.queue_name,
            priority=task.priority,
        )
        result: TaskResult[T] = task_result_for(record, task)
        # "Enqueued" is true only once the caller commits; a rollback enqueues nothing.
        transaction.on_commit(partial(task_enqueued.send, type(self), task_result=result), robust=True)
        return result

    def get_result(self, result_id: str) -> TaskResult:
        """The task result with id `result_id`, read from its JobRecord; TaskResultDoesNotExist if none."""
        from .models import JobRecord
        from .task_results import is_task_record, task_for_record, task_result_for

        record = JobRecord.objects.filter(pk=str(result_id)).first()
        if record is None or not is_task_record(record):
            raise TaskResultDoesNotExist(result_id)
        return task_result_for(record, task_for_record(record))

    def check(self, **kwargs: Any) -> Iterable[checks.CheckMessage]:
        """Every queue a task may use must be a queue the worker listens on."""
        yield from super().check(**kwargs)
        missing = sorted(self.queues - set(settings.RQ_QUEUES))
        if missing:
            yield checks.Error(
                f"Task backend {self.alias!r} lists queues {missing} that are not configured "
                f"(JOB_QUEUES: {', '.join(settings.RQ_QUEUES)}).",
                hint="Add them to the JOB_QUEUES environment variable or remove them from TASKS QUEUES.",
                id="jobregistry.E002",
            )


def _delay_until(run_after: datetime | None) -> timedelta | None:
    """enqueue_job's delay for Django's run_after; a moment already past means now."""
    if run_after is None:
        return None
    return max(run_after - timezone.now(), timedelta(0))
