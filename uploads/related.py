"""Which upload an `ocr:process` job is about, for the job's admin page.

Registered with jobregistry's public API in UploadsConfig.ready(), whether or not OCR is on, so
old OCR jobs keep their link after OCR is switched off.

Example:
    >>> upload_for_job(JobRecord.objects.get(pk="a1b2"))
    <Upload: scan.png (ada)>
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .models import Upload

if TYPE_CHECKING:
    from jobregistry import JobRecord


def upload_for_job(record: JobRecord) -> Upload | None:
    """The upload named by the job's payload (`upload_id`), or None if the payload or the upload is gone."""
    upload_id = record.data.get("upload_id") if isinstance(record.data, dict) else None
    if not isinstance(upload_id, int) or isinstance(upload_id, bool):
        return None
    return Upload.objects.filter(pk=upload_id).first()
