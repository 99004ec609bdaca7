"""The `ocr:process` processor: read an upload through Django storage and store Tesseract's text.

Registered by UploadsConfig.ready() when OCR_ENABLED is true. Payload: {upload_id, object_key, mime}.

Example:
    >>> enqueue_job("ocr:process", {"upload_id": 7, "object_key": "uploads/2026/12/ab.png", "mime": "image/png"})
"""

from __future__ import annotations

import io
import logging
import os
import socket
from typing import Any

import pytesseract
from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from PIL import Image

from jobregistry import JobContext, PermanentJobError

from .models import OcrStatus, Upload

logger = logging.getLogger(__name__)

# Tesseract's OpenMP threads would fight over the cores that worker *processes* already share;
# one thread per process scales better. setdefault lets an operator choose otherwise.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")


class OcrUnavailable(Exception):
    """Tesseract cannot run on this worker (not installed, or the language is missing)."""


def process_ocr(job: JobContext) -> dict[str, Any]:
    """Run Tesseract on the upload's image and save the text on the Upload."""
    upload_id, object_key = _parse_payload(job.data)
    stored_key = Upload.objects.filter(pk=upload_id).values_list("file", flat=True).first()
    if stored_key is None:
        raise PermanentJobError(f"Upload {upload_id} no longer exists; nothing to read.")
    if stored_key != object_key:
        # The row, not the payload, says which file belongs to the upload: a payload naming any
        # other key would read (and publish as this upload's text) a file that is not its own.
        raise PermanentJobError(
            f"The job's object key {object_key!r:.300} is not upload {upload_id}'s file; refusing to read it."
        )
    Upload.objects.filter(pk=upload_id).update(ocr_status=OcrStatus.RUNNING, ocr_error="")
    try:
        text = read_text(object_key, job)
    except Exception as exc:
        final = isinstance(exc, PermanentJobError) or job.is_last_attempt
        note = "" if final else f" (attempt {job.attempt} of {job.max_attempts}; retrying)"
        Upload.objects.filter(pk=upload_id).update(
            ocr_status=OcrStatus.FAILED if final else OcrStatus.QUEUED, ocr_error=f"{exc}{note}"
        )
        raise
    Upload.objects.filter(pk=upload_id).update(ocr_status=OcrStatus.DONE, ocr_text=text, ocr_error="")
    return {"upload_id": upload_id, "characters": len(text), "words": len(text.split())}


def read_text(object_key: str, job: JobContext) -> str:
    """Tesseract's text for the image stored under `object_key` (empty for an image without text)."""
    job.set_progress(10, "reading the file")
    try:
        with default_storage.open(object_key, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise PermanentJobError(f"The file {object_key!r} is missing from storage.") from None
    except SuspiciousFileOperation:
        raise PermanentJobError(f"The object key {object_key!r:.300} points outside the storage root.") from None
    except ValueError as exc:  # e.g. a NUL byte, which no file name may hold
        raise PermanentJobError(f"The object key {object_key!r:.300} is not a valid file name ({exc}).") from None

    job.set_progress(30, "decoding the image")
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception as exc:
        raise PermanentJobError(f"The file {object_key!r} is not a readable image ({exc}).") from None
    image = _flatten(image)

    job.set_progress(50, "running tesseract")
    pytesseract.pytesseract.tesseract_cmd = settings.OCR_TESSERACT_CMD
    try:
        text = pytesseract.image_to_string(image, lang=settings.OCR_LANG)
    except pytesseract.TesseractNotFoundError:
        raise OcrUnavailable(
            f"The tesseract program ({settings.OCR_TESSERACT_CMD!r}) is not installed on worker host "
            f"{socket.gethostname()}; install the tesseract-ocr package."
        ) from None
    except pytesseract.TesseractError as exc:
        raise OcrUnavailable(f"Tesseract failed with status {exc.status}: {exc.message}") from None
    job.set_progress(100, "done")
    return text.strip()


def _flatten(image: Image.Image) -> Image.Image:
    """An RGB or greyscale image: transparency goes onto white, as a page would be."""
    if image.mode in ("RGB", "L"):
        # pytesseract re-saves the image in its own format and knows no "MPO" (Pillow's name for a
        # JPEG with more pictures after the first); a copy of the first picture has no format.
        return image.copy() if image.format == "MPO" else image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        page = Image.new("RGB", rgba.size, "white")
        page.paste(rgba, mask=rgba.getchannel("A"))
        return page
    return image.convert("RGB")


def _parse_payload(data: dict[str, Any]) -> tuple[int, str]:
    upload_id, object_key = data.get("upload_id"), data.get("object_key")
    if not isinstance(upload_id, int) or isinstance(upload_id, bool) or not isinstance(object_key, str):
        raise PermanentJobError(
            f"ocr:process needs {{'upload_id': int, 'object_key': str, 'mime': str}}, got {data!r:.200}."
        )
    return upload_id, object_key
