"""`manage.py rqworker`: django-rq's worker with jobregistry's defaults.

With no arguments it works every configured queue (JOB_QUEUES, in priority order), runs the
scheduler (so retries with backoff and delayed jobs need no extra flag) and reads jobs as JSON.
Every django-rq flag still works; `--without-scheduler` turns the scheduler off.

Example:
    python manage.py rqworker                # all queues, scheduler on
    python manage.py rqworker default --burst
"""

from __future__ import annotations

from django.conf import settings
from django_rq.management.commands import rqworker

JSON_SERIALIZER = "rq.serializers.JSONSerializer"


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
        super().handle(*queues, **options)
