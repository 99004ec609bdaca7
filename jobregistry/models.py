"""JobRecord: the durable history of every job; JobAttempt: one row per try.

Redis is only the transport and forgets jobs after its result TTL; these rows are what the
admin, the API and retries read.

Example:
    >>> JobRecord.objects.filter(name="ocr:process", status=JobStatus.FAILED).count()
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class JobStatus(models.TextChoices):
    PENDING = "pending", "pending (waiting for Redis)"
    QUEUED = "queued", "queued"
    SCHEDULED = "scheduled", "scheduled"
    STARTED = "started", "started"
    RETRYING = "retrying", "retrying"
    FINISHED = "finished", "finished"
    FAILED = "failed", "failed"
    CANCELED = "canceled", "canceled"


TERMINAL_STATUSES = frozenset({JobStatus.FINISHED, JobStatus.FAILED, JobStatus.CANCELED})
RETRYABLE_STATUSES = frozenset({JobStatus.FAILED, JobStatus.CANCELED})
# Waiting for a run: in Redis (queued, scheduled, retrying) or about to be (pending).
WAITING_STATUSES = frozenset({JobStatus.PENDING, JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.RETRYING})
CANCELABLE_STATUSES = WAITING_STATUSES
# A worker may begin an attempt from these. STARTED is included because RQ may re-run a job whose
# previous worker died before anyone recorded it; records.start_attempt() then checks that the
# previous attempt's worker is really gone, so one attempt never runs twice at once.
RUNNABLE_STATUSES = frozenset(
    {JobStatus.PENDING, JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.RETRYING, JobStatus.STARTED}
)


class JobRecord(models.Model):
    id = models.CharField(primary_key=True, max_length=64, help_text="The RQ job id.")
    name = models.CharField(max_length=100, help_text="The job type, 'feature:action', e.g. 'ocr:process'.")
    queue = models.CharField(max_length=64, default="default")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The user the job acts for, if any; non-staff users see only their own jobs.",
    )
    data = models.JSONField(default=dict, help_text="The JSON payload the processor receives.")
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    priority = models.SmallIntegerField(
        default=0,
        help_text="-100 to 100; above 0 the job is put at the front of its queue (RQ has no numeric priority).",
    )

    attempts = models.PositiveIntegerField(default=0, help_text="Attempts started so far.")
    max_attempts = models.PositiveIntegerField(default=1, help_text="Attempts allowed in total.")
    backoff = models.JSONField(null=True, blank=True, help_text='e.g. {"type": "exponential", "delay": 1000}')

    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent, 0 to 100.")
    progress_message = models.CharField(max_length=255, blank=True)
    result = models.JSONField(null=True, blank=True)

    error_type = models.CharField(max_length=255, blank=True)
    error_message = models.TextField(blank=True)
    error_traceback = models.TextField(blank=True)

    enqueued_at = models.DateTimeField(auto_now_add=True, help_text="When enqueue_job() wrote the record.")
    scheduled_for = models.DateTimeField(null=True, blank=True, help_text="Earliest time of the next attempt.")
    started_at = models.DateTimeField(null=True, blank=True, help_text="Start of the first attempt.")
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    worker_name = models.CharField(max_length=255, blank=True, help_text="Worker of the latest attempt.")

    class Meta:
        ordering = ["-enqueued_at"]
        # Each column the admin and the API filter on comes with enqueued_at, so "this filter, newest
        # first, one page" reads an index range in order instead of sorting every matching row.
        indexes = [
            models.Index(fields=["status", "-enqueued_at"], name="jobrecord_status_enq"),
            # The admin's summary counts per (name, status), recent and all time, from this index alone.
            models.Index(fields=["name", "status", "-enqueued_at"], name="jobrecord_name_status_enq"),
            # The admin filtered by job type, newest first, without sorting every job of that type.
            models.Index(fields=["name", "-enqueued_at"], name="jobrecord_name_enq"),
            models.Index(fields=["queue", "-enqueued_at"], name="jobrecord_queue_enq"),
            models.Index(fields=["-enqueued_at"], name="jobrecord_enqueued"),
            # reconcile.py's sweeps: records of a status unchanged since a cutoff, oldest first.
            models.Index(fields=["status", "updated_at"], name="jobrecord_status_updated"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.id} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class JobAttempt(models.Model):
    """One try of a job: when it ran, on which worker, and how it ended."""

    class Outcome(models.TextChoices):
        RUNNING = "running", "running"
        FINISHED = "finished", "finished"
        FAILED = "failed", "failed"

    record = models.ForeignKey(JobRecord, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    worker_name = models.CharField(max_length=255, blank=True)
    error_type = models.CharField(max_length=255, blank=True)
    error_message = models.TextField(blank=True)
    # Kept per attempt (the record keeps only the latest) so every failed try can be reported.
    error_traceback = models.TextField(blank=True)

    class Meta:
        ordering = ["record", "started_at"]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.record_id} ({self.outcome})"
