"""Upload: an image in Django storage, what we learned from its content, and its OCR text.

Example:
    >>> upload = Upload.objects.filter(owner=request.user).latest("created")
    >>> upload.object_key, upload.mime, upload.ocr_status
    ('uploads/2026/12/3f2a...c1.png', 'image/png', 'done')
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse


class OcrStatus(models.TextChoices):
    DISABLED = "disabled", "OCR is disabled"
    QUEUED = "queued", "queued"
    RUNNING = "running", "reading text"
    DONE = "done", "done"
    FAILED = "failed", "failed"


OCR_FINAL_STATUSES = frozenset({OcrStatus.DISABLED, OcrStatus.DONE, OcrStatus.FAILED})


class Upload(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploads")
    # The storage key is generated (see services.new_object_key); the client's name is display only.
    file = models.FileField(max_length=255)
    original_name = models.CharField(max_length=255, blank=True, help_text="The client's file name, for display.")
    mime = models.CharField(max_length=64, help_text="Detected from the content.")
    size = models.PositiveBigIntegerField(help_text="Bytes.")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    created = models.DateTimeField(auto_now_add=True)

    ocr_status = models.CharField(max_length=16, choices=OcrStatus.choices, default=OcrStatus.QUEUED)
    ocr_text = models.TextField(blank=True)
    ocr_error = models.TextField(blank=True)
    ocr_job = models.ForeignKey(
        "jobregistry.JobRecord", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["owner", "-created"], name="upload_owner_created")]

    def __str__(self) -> str:
        return f"{self.original_name or self.object_key} ({self.owner})"

    def get_absolute_url(self) -> str:
        return reverse("uploads:detail", args=[self.pk])

    @property
    def object_key(self) -> str:
        """The file's key in Django storage."""
        return self.file.name

    def can_be_seen_by(self, user) -> bool:
        return user.is_authenticated and (user.is_staff or user.pk == self.owner_id)
