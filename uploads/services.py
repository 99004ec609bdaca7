"""Creating and deleting uploads; the one path the form, the API and the admin share.

Example:
    >>> info = validate_image_upload(file)
    >>> upload = create_upload(owner=request.user, file=file, info=info)
"""

from __future__ import annotations

import logging
import unicodedata
import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from jobregistry import enqueue_job

from .models import OcrStatus, Upload
from .validators import ImageInfo

logger = logging.getLogger(__name__)

OCR_JOB = "ocr:process"
OCR_ATTEMPTS = 3
OCR_BACKOFF = {"type": "exponential", "delay": 1000}


def new_object_key(info: ImageInfo) -> str:
    """A fresh storage key: no part of it comes from the client, so it cannot escape the storage root."""
    now = timezone.now()
    return f"uploads/{now:%Y/%m}/{uuid.uuid4().hex}{info.extension}"


def display_name(name: str | None) -> str:
    """The client's file name made safe to show: last path component, no control characters."""
    base = PurePosixPath((name or "").replace("\\", "/")).name
    cleaned = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    return cleaned[:255]


def create_upload(*, owner, file, info: ImageInfo) -> Upload:
    """Store a validated file under a new key, write its row and, with OCR on, enqueue its OCR job.

    The row and the job record commit together; the job reaches Redis after commit. If anything
    fails before commit, the stored file is deleted again, so nothing is left half-made.
    """
    file.seek(0)
    key = default_storage.save(new_object_key(info), file)
    try:
        with transaction.atomic():
            upload = Upload.objects.create(
                owner=owner,
                file=key,
                original_name=display_name(getattr(file, "name", "")),
                mime=info.mime,
                size=info.size,
                width=info.width,
                height=info.height,
                ocr_status=OcrStatus.QUEUED if settings.OCR_ENABLED else OcrStatus.DISABLED,
            )
            if settings.OCR_ENABLED:
                request_ocr(upload)
    except BaseException:
        default_storage.delete(key)
        raise
    return upload


def request_ocr(upload: Upload) -> None:
    """Enqueue `ocr:process` for `upload` (in the caller's transaction) and link the job to it."""
    upload.ocr_job = enqueue_job(
        OCR_JOB,
        {"upload_id": upload.pk, "object_key": upload.object_key, "mime": upload.mime},
        attempts=OCR_ATTEMPTS,
        backoff=OCR_BACKOFF,
        owner=upload.owner,
    )
    upload.ocr_status = OcrStatus.QUEUED
    upload.ocr_text = ""
    upload.ocr_error = ""
    upload.save(update_fields=["ocr_job", "ocr_status", "ocr_text", "ocr_error"])


def delete_upload(upload: Upload) -> None:
    """Delete the row, then the file once the deletion has committed."""
    key = upload.object_key
    with transaction.atomic():
        upload.delete()
        transaction.on_commit(lambda: default_storage.delete(key))
