"""The name -> processor registry.

Apps fill it from `AppConfig.ready()`, so the web process and every worker end up with the
same registry after `django.setup()`.

Example:
    >>> @job_processor("email:send")
    ... def send_email(job):
    ...     return {"sent_to": job.data["to"]}
    >>> registry.get("email:send").func is send_email
    True
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

from .errors import DuplicateJobProcessor, InvalidJobName, UnknownJobType

if TYPE_CHECKING:
    from .context import JobContext

Processor = Callable[["JobContext"], Any]
# Called with a job's name and payload when the registry does not know the name yet; it may
# register it (e.g. by importing the module that defines it). See JobRegistry.add_loader().
Loader = Callable[[str, Any], None]

JOB_NAME_PATTERN = re.compile(r"[a-z0-9_-]+:[a-z0-9_-]+")
JOB_NAME_RULE = (
    "names look like '<feature>:<action>': lowercase letters, digits, '_' or '-' "
    "on each side of exactly one colon, e.g. 'ocr:process'"
)


def validate_job_name(name: object) -> str:
    """Return `name` if it follows the `<feature>:<action>` rule, else raise InvalidJobName."""
    if not isinstance(name, str) or not JOB_NAME_PATTERN.fullmatch(name):
        raise InvalidJobName(f"Invalid job name {name!r}: {JOB_NAME_RULE}.")
    return name


@dataclass(frozen=True)
class JobType:
    """A registered processor and the options it was registered with."""

    name: str
    func: Processor
    queue: str = "default"

    @property
    def func_path(self) -> str:
        return f"{self.func.__module__}.{self.func.__qualname__}"


class JobRegistry:
    """Maps job names to processors; one instance, `registry`, serves the whole project."""

    def __init__(self) -> None:
        self._types: dict[str, JobType] = {}
        self._loaders: list[Loader] = []

    @overload
    def register(self, name: str, func: Processor, *, queue: str = ...) -> Processor: ...

    @overload
    def register(self, name: str, func: None = ..., *, queue: str = ...) -> Callable[[Processor], Processor]: ...

    def register(self, name: str, func: Processor | None = None, *, queue: str = "default"):
        """Register `func` under `name`; without `func`, return a decorator that does.

        Registering the same function twice is harmless (ready() may run more than once in
        tests); a different function under a taken name is an error.
        """
        validate_job_name(name)
        if func is None:
            return lambda f: self.register(name, f, queue=queue)
        if not callable(func):
            raise TypeError(f"The processor for job {name!r} must be callable, got {func!r}.")
        existing = self._types.get(name)
        if existing is not None and (existing.func is not func or existing.queue != queue):
            raise DuplicateJobProcessor(
                f"Job name {name!r} is already registered to {existing.func_path} "
                f"(queue {existing.queue!r}); refusing to register {JobType(name, func).func_path} "
                f"(queue {queue!r}) under the same name."
            )
        self._types[name] = JobType(name=name, func=func, queue=queue)
        return func

    def unregister(self, name: str) -> None:
        """Forget `name` (for tests and for apps that turn a feature off at runtime)."""
        self._types.pop(name, None)

    def get(self, name: str) -> JobType:
        """Return the JobType registered under `name`, or raise UnknownJobType."""
        try:
            return self._types[name]
        except KeyError:
            known = ", ".join(sorted(self._types)) or "none"
            raise UnknownJobType(f"Unknown job type {name!r}; registered job types: {known}.") from None

    def add_loader(self, loader: Loader) -> None:
        """Let `loader(name, data)` register job types this process has not loaded yet.

        A worker runs `AppConfig.ready()` but does not import every module of every app; a
        loader lets it find a job type from the job itself (Django Tasks are found by the module
        path in their payload). Adding the same loader twice is harmless.

        Example:
            >>> registry.add_loader(load_task_job)
        """
        if loader not in self._loaders:
            self._loaders.append(loader)

    def resolve(self, name: str, data: Any = None) -> JobType:
        """Like get(), but first let the loaders register `name` if it is not known yet.

        Example:
            >>> registry.resolve("tasks:billing-tasks-send_invoice", {"task": "billing.tasks.send_invoice"})
        """
        if name not in self._types:
            for loader in self._loaders:
                loader(name, data)
                if name in self._types:
                    break
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def all(self) -> list[JobType]:
        """Every registered JobType, sorted by name."""
        return [self._types[name] for name in sorted(self._types)]


registry = JobRegistry()


def register_job_processor(name: str, func: Processor, *, queue: str = "default") -> Processor:
    """Register `func` as the processor of job `name`; returns `func`.

    Example:
        >>> register_job_processor("email:send", send_email)
    """
    return registry.register(name, func, queue=queue)


def job_processor(name: str, *, queue: str = "default") -> Callable[[Processor], Processor]:
    """Decorator form of register_job_processor.

    Example:
        >>> @job_processor("email:send")
        ... def send_email(job): ...
    """
    return registry.register(name, queue=queue)
