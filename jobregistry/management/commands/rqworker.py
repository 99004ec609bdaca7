"""`manage.py rqworker`: django-rq's worker with jobregistry's defaults.

With no arguments it works every configured queue (JOB_QUEUES, in priority order), runs the
scheduler (so retries with backoff and delayed jobs need no extra flag), reads jobs as JSON and
uses jobregistry's worker class (jobregistry.worker.SimpleWorker unless settings.RQ['WORKER_CLASS']
names another), which hands back the jobs of dead workers and relays jobs Redis missed.
Every django-rq flag still works (`--worker-class jobregistry.worker.Worker` forks a work horse
per job); `--without-scheduler` turns the scheduler off.

Example:
    python manage.py rqworker                # all queues, scheduler on
    python manage.py rqworker default --burst
"""

from __future__ import annotations

import logging

from django.conf import settings
from django_rq.management.commands import rqworker
from django_rq.workers import get_worker_class

from jobregistry.worker import ReliableWorkerMixin

JSON_SERIALIZER = "rq.serializers.JSONSerializer"
DEFAULT_WORKER_CLASS = "jobregistry.worker.SimpleWorker"

logger = logging.getLogger("jobregistry.worker")


class Command(rqworker.Command):
    help = "Run an RQ worker for every registered job type (all queues, scheduler on, JSON payloads)."

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--without-scheduler",
            action="store_true",
            default=False,
            help="Do not run RQ's scheduler in this worker (delayed jobs and retries need one somewhere).",
        )
        parser.set_defaults(serializer=JSON_SERIALIZER)

    def handle(self, *args: str, **options) -> None:
        queues = args or tuple(settings.JOB_QUEUES)
        options["with_scheduler"] = not options.pop("without_scheduler")
        options["worker_class"] = (
            options.get("worker_class") or getattr(settings, "RQ", {}).get("WORKER_CLASS") or DEFAULT_WORKER_CLASS
        )
        if not issubclass(get_worker_class(options["worker_class"]), ReliableWorkerMixin):
            logger.warning(
                "%s is not a jobregistry worker: it will not hand back dead workers' jobs or relay pending ones "
                "(other jobregistry workers still do), and if it sends no heartbeat during a job (RQ's SimpleWorker) "
                "jobs longer than JOB_STALE_AFTER look abandoned. Mix jobregistry.worker.ReliableWorkerMixin into it.",
                options["worker_class"],
            )
        super().handle(*queues, **options)
