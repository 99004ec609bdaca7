"""Odd but legitimate encodings (CMYK, 16-bit, palette with alpha, 1-bit fax, MPO, ...) are read by Tesseract.

The validator accepts them (see the corpus in test_hostile_uploads.py); here the OCR step the
worker runs, uploads.ocr.read_text, reads each one in-process with real Tesseract, so
"accepted" is proved to mean "readable", not merely "decodable".
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from jobregistry import JobContext
from uploads.ocr import read_text
from uploads.services import create_upload
from uploads.validators import validate_image_upload

from . import hostile_files as h
from .images import word_match
from .reporting import report

pytestmark = pytest.mark.django_db

TEXT = "Seven quick zebras read odd files"


@pytest.mark.parametrize("kind", h.ODD_KINDS)
def test_odd_images_are_read_by_tesseract(kind, django_user_model):
    file = SimpleUploadedFile("odd", h.odd(kind, TEXT))
    with override_settings(OCR_ENABLED=False):
        upload = create_upload(
            owner=django_user_model.objects.create_user("ada"), file=file, info=validate_image_upload(file)
        )
    job = JobContext(id="in-process", name="ocr:process", data={}, attempt=1, max_attempts=1)

    text = read_text(upload.object_key, job)

    match = word_match(TEXT, text)
    report("Odd images through OCR (uploads.ocr.read_text, real Tesseract)", ("image", "mime", "words matched"),
           kind, upload.mime, f"{match:.0%}: {text!r}")  # fmt: skip
    assert match >= 0.9, text
