"""Django Tasks as registry jobs: the payload, the registration and the processor that runs them.

Every `@task` function gets its own job name (see task_names) registered to one processor,
run_task(). The job's payload says which task to run and with what, so a worker that never
imported the task's module finds it through load_task_job(), the registry loader.

Example (what JobRegistryBackend.enqueue() does):
    >>> name = register_task(send_invoice)
    >>> enqueue_job(name, task_payload(send_invoice, (42,), {}, backend="default"))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks.base import Task, TaskContext, TaskError, TaskResult, TaskResultStatus
from django_tasks.exceptions import InvalidTaskError
from django_tasks.signals import task_finished, task_started
from django_tasks.utils import get_exception_traceback, get_module_path

from .errors import DuplicateJobProcessor, InvalidJobData, PermanentJobError, UnknownJobType
from .payload import check_json_value
from .registry import registry
from .task_names import claim_job_name, is_task_job_name, job_name_for_path

if TYPE_CHECKING:  # context imports the models; this module must load before the app registry is ready
    from .context import JobContext


@dataclass(frozen=True)
class TaskCall:
    """A task job's payload, read back: which task, its arguments, and how it was enqueued."""

    path: str
    args: list[Any]
    kwargs: dict[str, Any]
    backend: str
    run_after: datetime | None

    @classmethod
    def from_data(cls, data: Any) -> TaskCall:
        """Parse a payload written by task_payload(); InvalidJobData (a permanent error) otherwise."""
        if not (
            isinstance(data, dict)
            and isinstance(data.get("task"), str)
            and isinstance(data.get("args"), list)
            and isinstance(data.get("kwargs"), dict)
            and isinstance(data.get("backend"), str)
        ):
            raise InvalidJobData(f"Not a task payload (task, args, kwargs, backend): {data!r:.200}")
        try:
            run_after = datetime.fromisoformat(data["run_after"]) if data.get("run_after") else None
        except (TypeError, ValueError):
            raise InvalidJobData(
                f"A task payload's run_after must be an ISO datetime, got {data['run_after']!r}."
            ) from None
        return cls(
            path=data["task"], args=data["args"], kwargs=data["kwargs"], backend=data["backend"], run_after=run_after
        )


def task_payload(task: Task, args: Sequence[Any], kwargs: dict[str, Any], *, backend: str) -> dict[str, Any]:
    """The JSON payload of one call of `task`; arguments that are not JSON are refused, named."""
    args, kwargs = list(args), dict(kwargs)
    try:
        check_json_value(args, path="args", what="argument")
        check_json_value(kwargs, path="kwargs", what="argument")
    except InvalidJobData as exc:
        raise InvalidJobData(f"Cannot enqueue task {task.module_path}: {exc}") from None
    return {
        "task": task.module_path,
        "args": args,
        "kwargs": kwargs,
        "backend": backend,
        # Kept for the Tasks API: the record's scheduled_for moves on with retries.
        "run_after": task.run_after.isoformat() if task.run_after else None,
    }


def register_task(task: Task) -> str:
    """Register `task`'s job name to run_task() (idempotent); returns the name.

    A name a hand-written processor already holds is refused rather than silently shared.
    """
    name = claim_job_name(task.module_path)
    try:
        registry.register(name, run_task, queue=task.queue_name)
    except DuplicateJobProcessor:
        # The same task on another queue (`.using(queue_name=...)`) is fine: the queue is
        # chosen per enqueue. Any other processor under the name is a real clash.
        holder = registry.get(name)
        if holder.func is not run_task:
            raise InvalidTaskError(
                f"Task {task.module_path} maps to the job name {name!r}, which is registered to the "
                f"processor {holder.func_path}; rename the task or that job type."
            ) from None
    return name


def import_task(path: str) -> Task:
    """The Task object at `path`; UnknownJobType (a permanent error) if there is none."""
    try:
        found = import_string(path)
    except ImportError as exc:
        raise UnknownJobType(f"The task {path!r} cannot be imported: {exc}") from None
    if not isinstance(found, Task):
        raise UnknownJobType(f"{path!r} is a {type(found).__name__}, not a task (a function decorated with @task).")
    return found


def check_importable(task: Task) -> None:
    """Refuse, in the caller, a task the worker could not find again by its module path.

    `send = task(_send)` makes a task whose function is `_send`; the worker would import the
    plain function. The task must be bound to its function's own name.
    """
    try:
        found = import_task(task.module_path)
    except UnknownJobType as exc:
        raise InvalidTaskError(f"{exc} Workers find tasks by the module path of their function.") from None
    if found.func is not task.func:
        raise InvalidTaskError(f"{task.module_path} is a different task; workers would run that one instead.")


def load_task_job(name: str, data: Any) -> None:
    """Registry loader: import the module of the task a `tasks:` job names, which registers it."""
    if is_task_job_name(name) and isinstance(data, dict) and isinstance(data.get("task"), str):
        import_task(data["task"])


def run_task(job: JobContext) -> Any:
    """The processor of every task job: call the task with its arguments, return its JSON result."""
    from django_tasks import task_backends

    from .runner import PERMANENT_ERRORS  # the runner imports the models: only once apps are ready

    call = TaskCall.from_data(job.data)
    task = import_task(call.path)
    if job_name_for_path(task.module_path) != job.name:
        raise PermanentJobError(f"Job {job.name!r} names the task {call.path!r}, whose job name differs.")
    backend = task_backends[call.backend]
    result = backend.get_result(job.id)  # RUNNING, with this attempt among its worker_ids
    # Robust sends: a failing receiver is logged by Django and must not fail (or retry) the task.
    task_started.send_robust(type(backend), task_result=result)
    try:
        if task.takes_context:
            value = task.call(TaskContext(task_result=result), *call.args, **call.kwargs)
        else:
            value = task.call(*call.args, **call.kwargs)
        check_json_value(value, path="result", what="result")
    except Exception as exc:
        # Receivers of task_finished hear of the end only, not of attempts that will be retried.
        if job.is_last_attempt or isinstance(exc, PERMANENT_ERRORS):
            _finish(result, backend, TaskResultStatus.FAILED, error=exc)
        raise
    _finish(result, backend, TaskResultStatus.SUCCESSFUL, value=value)
    return value


def _finish(
    result: TaskResult, backend: Any, status: TaskResultStatus, *, value: Any = None, error: Exception | None = None
) -> None:
    """Send task_finished with `result` as it ends (the runner writes the same to the record next)."""
    # TaskResult is frozen; Django's own backends update it the same way.
    object.__setattr__(result, "status", status)
    object.__setattr__(result, "finished_at", timezone.now())
    if error is not None:
        result.errors.append(
            TaskError(exception_class_path=get_module_path(type(error)), traceback=get_exception_traceback(error))
        )
    else:
        object.__setattr__(result, "_return_value", value)
    task_finished.send_robust(type(backend), task_result=result)
