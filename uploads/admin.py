"""Uploads in the Django admin: the image, its owner and type, its OCR status, text and job.

Images are shown through the protected `/uploads/<id>/file/` view (staff may see every upload),
never from a public media URL. Uploads come in only through the validator (form and API), so
the admin adds none and edits none; staff with `uploads.change_upload` can run OCR again, and
deleting removes the stored file with the row.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat, pluralize
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from .models import OcrStatus, Upload
from .services import delete_upload, request_ocr
from .validators import MIME_TYPES

OCR_IN_PROGRESS = frozenset({OcrStatus.QUEUED, OcrStatus.RUNNING})


class MimeFilter(admin.SimpleListFilter):
    """The image types the validator accepts: no `SELECT DISTINCT mime` over every upload."""

    title = "type"
    parameter_name = "mime"

    def lookups(self, request, model_admin) -> list[tuple[str, str]]:
        return [(mime, fmt) for fmt, mime in sorted(MIME_TYPES.items())]

    def queryset(self, request, queryset: QuerySet[Upload]) -> QuerySet[Upload]:
        return queryset.filter(mime=self.value()) if self.value() else queryset


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    list_display = (
        "thumbnail",
        "name_display",
        "owner",
        "mime",
        "size_display",
        "ocr_status_badge",
        "ocr_job_link",
        "created",
    )
    list_display_links = ("thumbnail", "name_display")
    list_filter = ("ocr_status", MimeFilter, ("created", admin.DateFieldListFilter))
    list_select_related = ("owner", "ocr_job")
    search_fields = ("=id", "original_name", "owner__username", "ocr_text")
    search_help_text = "Search by upload id, file name, owner's username or text read by OCR."
    ordering = ("-created", "-id")
    list_per_page = 50
    show_full_result_count = False
    actions = ("run_ocr_again",)
    fieldsets = (
        (None, {"fields": ("preview", "original_name", "object_key", "owner", "created")}),
        ("Image", {"fields": ("mime", "size_display", "dimensions")}),
        ("OCR", {"fields": ("ocr_status_badge", "ocr_job_link", "ocr_text_pre", "ocr_error")}),
    )
    readonly_fields = (
        "preview",
        "original_name",
        "object_key",
        "owner",
        "created",
        "mime",
        "size_display",
        "dimensions",
        "ocr_status_badge",
        "ocr_job_link",
        "ocr_text_pre",
        "ocr_error",
    )

    class Media:
        css = {"all": ["uploads/admin.css"]}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # every upload goes through the validator: the form or the API

    def has_change_permission(self, request: HttpRequest, obj: Upload | None = None) -> bool:
        return False  # nothing to edit: the file, its facts and its OCR text come from the system

    def has_ocr_permission(self, request: HttpRequest) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    def delete_model(self, request: HttpRequest, obj: Upload) -> None:
        delete_upload(obj)  # the stored file goes too, once the deletion commits

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Upload]) -> None:
        for upload in queryset:
            delete_upload(upload)

    @admin.display(description="image")
    def thumbnail(self, obj: Upload) -> SafeString:
        return format_html(
            '<img class="upl-thumb" src="{}" alt="" loading="lazy" decoding="async">',
            reverse("uploads:file", args=[obj.pk]),
        )

    @admin.display(description="preview")
    def preview(self, obj: Upload) -> SafeString:
        url = reverse("uploads:file", args=[obj.pk])
        return format_html('<a href="{}"><img class="upl-preview" src="{}" alt="The uploaded image"></a>', url, url)

    @admin.display(description="name", ordering="original_name")
    def name_display(self, obj: Upload) -> str:
        return obj.original_name or obj.object_key

    @admin.display(description="size", ordering="size")
    def size_display(self, obj: Upload) -> str:
        return filesizeformat(obj.size)

    @admin.display(description="pixels")
    def dimensions(self, obj: Upload) -> str:
        return f"{obj.width} x {obj.height}"

    @admin.display(description="OCR", ordering="ocr_status")
    def ocr_status_badge(self, obj: Upload) -> SafeString:
        return format_html('<span class="upl-badge upl-ocr-{}">{}</span>', obj.ocr_status, obj.get_ocr_status_display())

    @admin.display(description="OCR job")
    def ocr_job_link(self, obj: Upload) -> SafeString | str:
        job = obj.ocr_job
        if job is None:
            return "-"
        url = reverse("admin:jobregistry_jobrecord_change", args=[quote(job.pk)])
        return format_html('<a href="{}">{} · {}</a>', url, job.name, job.get_status_display())

    @admin.display(description="text")
    def ocr_text_pre(self, obj: Upload) -> SafeString | str:
        return format_html('<pre class="upl-text">{}</pre>', obj.ocr_text) if obj.ocr_text else "-"

    @admin.action(description="Run OCR again on selected uploads", permissions=["ocr"])
    def run_ocr_again(self, request: HttpRequest, queryset: QuerySet[Upload]) -> None:
        if not settings.OCR_ENABLED:
            self.message_user(request, "OCR is switched off (OCR_ENABLED=false); nothing was queued.", messages.ERROR)
            return
        queued = busy = 0
        for upload_id in queryset.order_by().values_list("pk", flat=True):
            with transaction.atomic():
                # Locked and read again: a second OCR job for an upload already being read would race it.
                upload = Upload.objects.select_for_update().select_related("owner").filter(pk=upload_id).first()
                if upload is None:  # deleted meanwhile
                    continue
                if upload.ocr_status in OCR_IN_PROGRESS:
                    busy += 1
                    continue
                request_ocr(upload)
                queued += 1
        if queued:
            self.message_user(request, f"Queued OCR for {queued} upload{pluralize(queued)}.", messages.SUCCESS)
        if busy:
            self.message_user(
                request,
                f"Skipped {busy} upload{pluralize(busy)} whose OCR is already queued or running.",
                messages.WARNING,
            )
