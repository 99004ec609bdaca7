"""jobregistry: named background jobs for every Django app, run by one RQ worker.

The public API; apps import only from here.

Example:
    # myapp/apps.py
    class MyAppConfig(AppConfig):
        def ready(self):
            from jobregistry import register_job_processor
            from .jobs import send_email
            register_job_processor("email:send", send_email)

    # anywhere
    from jobregistry import enqueue_job
    enqueue_job("email:send", {"to": "ada@example.com"}, attempts=3,
                backoff={"type": "exponential", "delay": 1000})
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    DuplicateJobProcessor,
    DuplicateRelatedObjectResolver,
    InvalidJobData,
    InvalidJobName,
    InvalidJobOptions,
    JobRegistryError,
    JobStateError,
    PermanentJobError,
    UnknownJobType,
)
from .registry import JobType, job_processor, register_job_processor, registry
from .related import register_related_object_resolver, related_object

if TYPE_CHECKING:
    from .actions import cancel_job, retry_job
    from .context import JobContext
    from .enqueue import enqueue_job, enqueue_jobs
    from .models import TERMINAL_STATUSES, JobRecord, JobStatus

# These need the app registry (they touch models), so they load on first use; this lets
# `from jobregistry import register_job_processor` run before Django has finished setting up.
_LAZY = {
    "enqueue_job": ".enqueue",
    "enqueue_jobs": ".enqueue",
    "retry_job": ".actions",
    "cancel_job": ".actions",
    "JobContext": ".context",
    "JobRecord": ".models",
    "JobStatus": ".models",
    "TERMINAL_STATUSES": ".models",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "TERMINAL_STATUSES",
    "DuplicateJobProcessor",
    "DuplicateRelatedObjectResolver",
    "InvalidJobData",
    "InvalidJobName",
    "InvalidJobOptions",
    "JobContext",
    "JobRecord",
    "JobRegistryError",
    "JobStateError",
    "JobStatus",
    "JobType",
    "PermanentJobError",
    "UnknownJobType",
    "cancel_job",
    "enqueue_job",
    "enqueue_jobs",
    "job_processor",
    "register_job_processor",
    "register_related_object_resolver",
    "registry",
    "related_object",
    "retry_job",
]
