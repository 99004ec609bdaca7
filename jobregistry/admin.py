"""Read-only job status pages in the Django admin.

Records are written only by enqueue_job() and the worker; the admin shows them.
django-rq's own dashboard is linked from the admin index ("Django RQ > Queues").
"""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html

from .models import JobAttempt, JobRecord


class JobAttemptInline(admin.TabularInline):
    model = JobAttempt
    extra = 0
    can_delete = False
    fields = ("number", "outcome", "started_at", "finished_at", "worker_name", "error_type", "error_message")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(JobRecord)
class JobRecordAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "status", "queue", "attempts_display", "progress", "enqueued_at", "finished_at")
    list_filter = ("status", "name", "queue")
    search_fields = ("=id", "name")
    date_hierarchy = "enqueued_at"
    ordering = ("-enqueued_at",)
    inlines = [JobAttemptInline]
    fieldsets = (
        (None, {"fields": ("id", "name", "queue", "priority", "status", "attempts_display", "worker_name")}),
        ("Progress", {"fields": ("progress", "progress_message")}),
        ("Payload and result", {"fields": ("data_pretty", "result_pretty")}),
        ("Error", {"fields": ("error_type", "error_message", "error_traceback_pre")}),
        ("Timing", {"fields": ("enqueued_at", "scheduled_for", "started_at", "finished_at", "updated_at")}),
        ("Retry policy", {"fields": ("max_attempts", "backoff")}),
    )
    readonly_fields = (
        "id",
        "name",
        "queue",
        "priority",
        "status",
        "attempts_display",
        "worker_name",
        "progress",
        "progress_message",
        "data_pretty",
        "result_pretty",
        "error_type",
        "error_message",
        "error_traceback_pre",
        "enqueued_at",
        "scheduled_for",
        "started_at",
        "finished_at",
        "updated_at",
        "max_attempts",
        "backoff",
    )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="attempts", ordering="attempts")
    def attempts_display(self, obj: JobRecord) -> str:
        return f"{obj.attempts}/{obj.max_attempts}"

    @admin.display(description="data")
    def data_pretty(self, obj: JobRecord) -> str:
        return _pre(json.dumps(obj.data, indent=2, sort_keys=True))

    @admin.display(description="result")
    def result_pretty(self, obj: JobRecord) -> str:
        return _pre(json.dumps(obj.result, indent=2, sort_keys=True)) if obj.result is not None else "-"

    @admin.display(description="traceback")
    def error_traceback_pre(self, obj: JobRecord) -> str:
        return _pre(obj.error_traceback) if obj.error_traceback else "-"


def _pre(text: str) -> str:
    return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)
