"""App config for jobregistry: the built-in `jobs:ping` job, Django Tasks, a check that job queues exist."""

from django.apps import AppConfig
from django.conf import settings
from django.core import checks


class JobRegistryConfig(AppConfig):
    name = "jobregistry"
    verbose_name = "Jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .ping import ping
        from .registry import register_job_processor, registry
        from .task_jobs import load_task_job

        register_job_processor("jobs:ping", ping)
        # A worker finds a `@task` by the module path in its job, without importing every module first.
        registry.add_loader(load_task_job)
        checks.register(check_job_queues, "jobregistry")
        checks.register(check_job_timing, "jobregistry")


def check_job_queues(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Every registered job type must name a queue the worker listens on (settings.RQ_QUEUES)."""
    from .registry import registry

    return [
        checks.Error(
            f"Job type {job_type.name!r} is registered on queue {job_type.queue!r}, "
            f"which is not configured (JOB_QUEUES: {', '.join(settings.RQ_QUEUES)}).",
            hint="Add the queue to the JOB_QUEUES environment variable or register the job on another queue.",
            id="jobregistry.E001",
        )
        for job_type in registry.all()
        if job_type.queue not in settings.RQ_QUEUES
    ]


def check_job_timing(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """JOB_STALE_AFTER and JOB_RECONCILE_INTERVAL must leave room for heartbeats."""
    from .timing import Timing

    return [
        checks.Error(problem, hint="See the Settings section of the README.", id="jobregistry.E002")
        for problem in Timing.from_settings().problems()
    ]
