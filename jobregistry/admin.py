"""Job status pages in the Django admin: watch, understand and fix jobs.

The change list shows each job's status, attempts, progress and timings, with a per-type summary
above it; the detail page shows the payload, result, traceback and every attempt, with links to
the object the job is about and to the job in django-rq's dashboard. Staff with the
`jobregistry.change_jobrecord` permission can retry and cancel jobs (list actions and buttons on
the detail page); nobody can edit a record, which only enqueue_job() and workers write.

Built to stay fast with hundreds of thousands of records: every list filter is answered from the
registry, settings or an index (none runs a DISTINCT scan), the page never queries per row, the
summary is one aggregate query, and the unfiltered total is not counted twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db.models import DurationField, ExpressionWrapper, F, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.defaultfilters import pluralize
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from redis.exceptions import RedisError

from . import display
from .actions import cancel_job, retry_job
from .dashboard import rq_dashboard_url
from .errors import JobStateError
from .models import CANCELABLE_STATUSES, RETRYABLE_STATUSES, JobRecord
from .registry import registry
from .related import related_object
from .summary import job_summary

CHANGE_PERMISSION = "jobregistry.change_jobrecord"


class JobNameFilter(admin.SimpleListFilter):
    """Job types from the registry: no `SELECT DISTINCT name` over the whole table on every page.

    Names no longer registered in this process stay reachable through the summary's links
    (and a `?name=` already in the URL is kept as a choice).
    """

    title = "job type"
    parameter_name = "name"

    def lookups(self, request, model_admin) -> list[tuple[str, str]]:
        names = {job_type.name for job_type in registry.all()}
        if self.value():
            names.add(self.value())
        return [(name, name) for name in sorted(names)]

    def queryset(self, request, queryset: QuerySet[JobRecord]) -> QuerySet[JobRecord]:
        return queryset.filter(name=self.value()) if self.value() else queryset


class QueueFilter(admin.SimpleListFilter):
    """Queues from settings and the registry, not from a scan of the records."""

    title = "queue"
    parameter_name = "queue"

    def lookups(self, request, model_admin) -> list[tuple[str, str]]:
        queues = set(settings.RQ_QUEUES) | {job_type.queue for job_type in registry.all()}
        if self.value():
            queues.add(self.value())
        return [(queue, queue) for queue in sorted(queues)]

    def queryset(self, request, queryset: QuerySet[JobRecord]) -> QuerySet[JobRecord]:
        return queryset.filter(queue=self.value()) if self.value() else queryset


@admin.register(JobRecord)
class JobRecordAdmin(admin.ModelAdmin):
    list_display = (
        "short_id",
        "status_badge",
        "name",
        "queue",
        "attempts_display",
        "progress_display",
        "enqueued_display",
        "duration_display",
        "wait_display",
    )
    list_display_links = ("short_id",)
    list_filter = ("status", JobNameFilter, QueueFilter, ("enqueued_at", admin.DateFieldListFilter))
    search_fields = ("=id", "name", "data", "error_message")
    search_help_text = "Search by the exact job id, or by text in the job type, the payload or the error."
    date_hierarchy = "enqueued_at"
    ordering = ("-enqueued_at", "-pk")
    list_per_page = 50
    show_full_result_count = False  # one COUNT per page is enough on a big table
    actions = ("retry_selected", "cancel_selected")
    change_list_template = "admin/jobregistry/jobrecord/change_list.html"
    change_form_template = "admin/jobregistry/jobrecord/change_form.html"

    fieldsets = (
        (
            None,
            {"fields": ("id", "name", "status_badge", "queue", "priority", "attempts_display", "owner", "worker_name")},
        ),
        ("Links", {"fields": ("related_object_link", "rq_dashboard_link")}),
        ("Error", {"fields": ("error_type", "error_message_pre", "error_traceback_pre")}),
        ("Progress", {"fields": ("progress_display",)}),
        ("Payload and result", {"fields": ("data_pretty", "result_pretty")}),
        ("Attempts", {"fields": ("attempt_table",)}),
        (
            "Timing",
            {
                "fields": (
                    "enqueued_at_display",
                    "scheduled_for_display",
                    "started_at_display",
                    "finished_at_display",
                    "wait_display",
                    "duration_display",
                    "updated_at_display",
                )
            },
        ),
        ("Retry policy", {"fields": ("max_attempts", "backoff")}),
    )
    readonly_fields = (
        "id",
        "name",
        "status_badge",
        "queue",
        "priority",
        "attempts_display",
        "owner",
        "worker_name",
        "related_object_link",
        "rq_dashboard_link",
        "progress_display",
        "data_pretty",
        "result_pretty",
        "error_type",
        "error_message_pre",
        "error_traceback_pre",
        "attempt_table",
        "enqueued_at_display",
        "scheduled_for_display",
        "started_at_display",
        "finished_at_display",
        "wait_display",
        "duration_display",
        "updated_at_display",
        "max_attempts",
        "backoff",
    )

    class Media:
        css = {"all": ["jobregistry/admin.css"]}

    # --- permissions: view to look, change to retry or cancel, nobody edits or deletes ------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: JobRecord | None = None) -> bool:
        # Records are history: editing a field would make them lie. Retry and cancel are actions.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: JobRecord | None = None) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(CHANGE_PERMISSION)

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(CHANGE_PERMISSION)

    def get_fieldsets(self, request: HttpRequest, obj: JobRecord | None = None):
        # The error comes right after the links when there is one, and not at all when there is none.
        has_error = obj is not None and bool(obj.error_type or obj.error_message or obj.error_traceback)
        return [fieldset for fieldset in self.fieldsets if has_error or fieldset[0] != "Error"]

    # --- queries -----------------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[JobRecord]:
        # Annotations make duration and wait sortable; COUNT queries drop them (unused there).
        return (
            super()
            .get_queryset(request)
            .annotate(
                run_span=ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField()),
                wait_span=ExpressionWrapper(F("started_at") - F("enqueued_at"), output_field=DurationField()),
            )
        )

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        # Lazy: an action's POST redirects without rendering, so it never pays for the summary.
        extra_context = {**(extra_context or {}), "job_summary": SimpleLazyObject(job_summary)}
        return super().changelist_view(request, extra_context=extra_context)

    # --- columns and fields ------------------------------------------------------------------

    @admin.display(description="job", ordering="pk")
    def short_id(self, obj: JobRecord) -> SafeString:
        shown = obj.pk if len(obj.pk) <= 12 else f"{obj.pk[:8]}…"
        return format_html('<span class="jr-id" title="{}">{}</span>', obj.pk, shown)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: JobRecord) -> SafeString:
        return display.status_badge(obj.status, obj.get_status_display())

    @admin.display(description="attempts", ordering="attempts")
    def attempts_display(self, obj: JobRecord) -> str:
        return f"{obj.attempts}/{obj.max_attempts}"

    @admin.display(description="progress", ordering="progress")
    def progress_display(self, obj: JobRecord) -> SafeString:
        return display.progress_bar(obj.progress, obj.progress_message)

    @admin.display(description="enqueued", ordering="enqueued_at")
    def enqueued_display(self, obj: JobRecord) -> SafeString:
        return display.short_timestamp(obj.enqueued_at, timezone.now())

    # Timestamps with seconds and milliseconds: the admin's default format stops at minutes.
    @admin.display(description="enqueued at")
    def enqueued_at_display(self, obj: JobRecord) -> str:
        return display.timestamp(obj.enqueued_at)

    @admin.display(description="next attempt not before")
    def scheduled_for_display(self, obj: JobRecord) -> str:
        return display.timestamp(obj.scheduled_for)

    @admin.display(description="first attempt started at")
    def started_at_display(self, obj: JobRecord) -> str:
        return display.timestamp(obj.started_at)

    @admin.display(description="finished at")
    def finished_at_display(self, obj: JobRecord) -> str:
        return display.timestamp(obj.finished_at)

    @admin.display(description="updated at")
    def updated_at_display(self, obj: JobRecord) -> str:
        return display.timestamp(obj.updated_at)

    @admin.display(description="duration", ordering="run_span")
    def duration_display(self, obj: JobRecord) -> str:
        return display.format_duration(display.run_time(obj, timezone.now()))

    @admin.display(description="wait", ordering="wait_span")
    def wait_display(self, obj: JobRecord) -> str:
        return display.format_duration(display.wait_time(obj, timezone.now()))

    @admin.display(description="payload")
    def data_pretty(self, obj: JobRecord) -> SafeString | str:
        return display.pretty_json(obj.data)

    @admin.display(description="result")
    def result_pretty(self, obj: JobRecord) -> SafeString | str:
        return display.pretty_json(obj.result)

    @admin.display(description="error message")
    def error_message_pre(self, obj: JobRecord) -> SafeString | str:
        return display.preformatted(obj.error_message)

    @admin.display(description="traceback")
    def error_traceback_pre(self, obj: JobRecord) -> SafeString | str:
        return display.preformatted(obj.error_traceback)

    @admin.display(description="related object")
    def related_object_link(self, obj: JobRecord) -> SafeString | str:
        target = related_object(obj)
        if target is None:
            return display.EMPTY
        label = f"{target._meta.verbose_name} {target}"
        url = _admin_url(target) or getattr(target, "get_absolute_url", lambda: None)()
        return format_html('<a href="{}">{}</a>', url, label) if url else label

    @admin.display(description="RQ dashboard")
    def rq_dashboard_link(self, obj: JobRecord) -> SafeString | str:
        try:
            url = rq_dashboard_url(obj)
        except RedisError as exc:
            return f"Redis did not answer ({type(exc).__name__}), so there is no link to django-rq's dashboard."
        if url is None:
            return "Redis no longer holds this job (its RQ data expires a day after it ends)."
        return format_html('<a href="{}">This job in django-rq\'s dashboard</a>', url)

    @admin.display(description="attempt log")
    def attempt_table(self, obj: JobRecord) -> SafeString | str:
        attempts = list(obj.attempt_log.all())
        if not attempts:
            return "No attempt has started yet."
        now = timezone.now()
        # A retry starts again from attempt 1 and keeps the log, so "#" counts every try ever made.
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    n,
                    a.number,
                    display.status_badge(a.outcome),
                    display.timestamp(a.started_at),
                    display.timestamp(a.finished_at),
                    display.format_duration((a.finished_at or now) - a.started_at),
                    a.worker_name or display.EMPTY,
                    f"{a.error_type}: {a.error_message}" if a.error_type else a.error_message or display.EMPTY,
                )
                for n, a in enumerate(attempts, start=1)
            ),
        )
        return format_html(
            '<table class="jr-attempts"><thead><tr><th>#</th><th>attempt</th><th>outcome</th><th>started</th>'
            "<th>ended</th><th>took</th><th>worker</th><th>error</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    # --- retry and cancel: list actions ---------------------------------------------------

    @admin.action(description="Retry selected failed or canceled jobs", permissions=["retry"])
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[JobRecord]) -> None:
        self._act_on_many(request, queryset, retry_job, done="Retried", rule=_RETRY_RULE)

    @admin.action(description="Cancel selected queued or scheduled jobs", permissions=["cancel"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[JobRecord]) -> None:
        self._act_on_many(request, queryset, cancel_job, done="Canceled", rule=_CANCEL_RULE)

    def _act_on_many(
        self, request: HttpRequest, queryset: QuerySet[JobRecord], act: Callable[[str], JobRecord], done: str, rule: str
    ) -> None:
        """Apply `act` to each job; report how many it changed and, by status, why it skipped the rest."""
        acted, skipped = 0, Counter[str]()
        # The action decides from the locked row, not from the status this page showed.
        for job_id in queryset.order_by().values_list("pk", flat=True):
            try:
                record = act(job_id)
            except JobStateError as exc:
                skipped[exc.status or "gone"] += 1
            else:
                acted += 1
                self.log_change(request, record, f"{done} the job.")
        if acted:
            self.message_user(request, f"{done} {acted} job{pluralize(acted)}.", messages.SUCCESS)
        if skipped:
            reasons = ", ".join(f"{count} {status}" for status, count in sorted(skipped.items()))
            total = sum(skipped.values())
            self.message_user(request, f"Skipped {total} job{pluralize(total)} ({reasons}): {rule}.", messages.WARNING)

    # --- retry and cancel: buttons on the detail page ------------------------------------

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        wrap = self.admin_site.admin_view  # login, staff and CSRF checks, as for every admin view
        return [
            path("<path:object_id>/retry/", wrap(self.retry_view), name="{}_{}_retry".format(*info)),
            path("<path:object_id>/cancel/", wrap(self.cancel_view), name="{}_{}_cancel".format(*info)),
            *super().get_urls(),
        ]

    def retry_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._act_on_one(request, object_id, retry_job, self.has_retry_permission, "will run again")

    def cancel_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._act_on_one(request, object_id, cancel_job, self.has_cancel_permission, "is canceled")

    def _act_on_one(
        self,
        request: HttpRequest,
        object_id: str,
        act: Callable[[str], JobRecord],
        allowed: Callable[[HttpRequest], bool],
        outcome: str,
    ) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not allowed(request):
            raise PermissionDenied
        record = self.get_object(request, unquote(object_id))
        if record is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        try:
            record = act(record.pk)
        except JobStateError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.log_change(request, record, f"Job {outcome}.")
            self.message_user(request, f"Job {record.pk} {outcome}.", messages.SUCCESS)
        return HttpResponseRedirect(
            reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[quote(record.pk)])
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["can_retry"] = obj.status in RETRYABLE_STATUSES and self.has_retry_permission(request)
            context["can_cancel"] = obj.status in CANCELABLE_STATUSES and self.has_cancel_permission(request)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)


_RETRY_RULE = "only failed or canceled jobs can be retried"
_CANCEL_RULE = "only pending, queued, scheduled or retrying jobs can be canceled"


def _admin_url(target) -> str | None:
    """The admin change page of `target`, if its model is in the admin (that page checks permissions)."""
    opts = target._meta
    try:
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(target.pk)])
    except NoReverseMatch:
        return None
