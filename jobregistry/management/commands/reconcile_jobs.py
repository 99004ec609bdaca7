"""`manage.py reconcile_jobs`: set the job records and Redis straight once, now.

Running workers do this by themselves every JOB_RECONCILE_INTERVAL seconds; the command is for
operators (after an outage, with no worker running, or from cron). It relays `pending` records
to Redis, hands over again those Redis lost, and retries or fails the `started` records of
workers silent for JOB_STALE_AFTER seconds. Safe to run at any time, alongside workers.

Example:
    python manage.py reconcile_jobs
    relayed 12, sent again 0, failed by RQ 0, handed back 1
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django_rq.workers import get_exception_handlers

from jobregistry.reconcile import reconcile


class Command(BaseCommand):
    help = "Relay pending jobs to Redis, re-send lost ones, and retry or fail the jobs of dead workers, once."

    def handle(self, *args: str, **options) -> None:
        report = reconcile(exception_handlers=get_exception_handlers(), wait=True, owner="reconcile_jobs")
        if report.skipped:
            raise CommandError("Another process held the reconcile lock for too long; try again.")
        self.stdout.write(str(report))
        if report.redis_down:
            raise CommandError("Redis did not answer; nothing more could be done now.")
