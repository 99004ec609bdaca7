"""Django Tasks the tests enqueue; each one shows one behaviour of the Tasks backend.

Nothing imports this module at start-up: the worker finds these tasks by their module path.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver
from django_tasks import TaskContext, TaskResult, task
from django_tasks.signals import task_finished


@task
def add(a: int, b: int) -> int:
    return a + b


@task
def echo(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """Return the arguments, so a test can tell runs apart."""
    return {"args": list(args), "kwargs": kwargs}


@task
def fail(marker: str) -> None:
    raise ValueError(f"task failed ({marker})")


@task(takes_context=True)
def whoami(context: TaskContext) -> dict[str, Any]:
    """Return what the context says about this run."""
    result = context.task_result
    return {"id": result.id, "attempt": context.attempt, "status": result.status, "workers": result.worker_ids}


@task(takes_context=True, backend="retrying")
def flaky(context: TaskContext) -> int:
    """Fail on the first attempt, succeed on the second (the `retrying` backend allows two)."""
    if context.attempt < 2:
        raise RuntimeError("first attempt fails")
    return context.attempt


@task
async def async_add(a: int, b: int) -> int:
    return a + b


@task
def returns_a_set() -> Any:
    return {1, 2, 3}


@task
def with_a_broken_receiver() -> str:
    return "done"


@receiver(task_finished)
def break_on_finish(sender: type, task_result: TaskResult, **kwargs: Any) -> None:
    """A receiver that fails, for with_a_broken_receiver only: the task must succeed all the same."""
    if task_result.task.func is with_a_broken_receiver.func:
        raise RuntimeError("a task_finished receiver failed")


def _hidden() -> None:
    """A task bound to another name than its function's: the worker could not find it."""


renamed = task(_hidden)
