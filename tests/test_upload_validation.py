"""The one upload validator, through the form: what is accepted, and every refusal leaves nothing.

These need no worker: a refused upload never gets as far as a job.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from uploads.models import Upload
from uploads.validators import validate_image_upload

from .images import FORMATS, encode, image_file, png_claiming_size, render_text
from .storage import stored_files

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"), ("TIFF", "image/tiff"),
     ("WEBP", "image/webp"), ("BMP", "image/bmp")],
)  # fmt: skip
def test_every_accepted_format_is_detected_from_its_content(fmt, mime):
    info = validate_image_upload(image_file(fmt))
    assert (info.format, info.mime) == (fmt, mime)
    assert info.width == 1400 and info.height > 0


def test_the_type_comes_from_content_not_the_name():
    # A PNG named without an extension is still a PNG.
    info = validate_image_upload(SimpleUploadedFile("scan", encode(render_text("hi"), "PNG")))
    assert info.mime == "image/png" and info.extension == ".png"


def truncated_png() -> SimpleUploadedFile:
    data = encode(render_text(), "PNG")
    return SimpleUploadedFile("truncated.png", data[: len(data) // 2])


REFUSALS = {
    "text file renamed .png": (
        lambda: SimpleUploadedFile("notes.png", b"These are my notes, not an image.\n" * 20, "image/png"),
        "This file is not an image we can read. Upload a PNG, JPEG, GIF, TIFF, WebP or BMP image.",
    ),
    "truncated PNG": (truncated_png, "The PNG image is damaged or incomplete and cannot be read."),
    "empty file": (lambda: SimpleUploadedFile("empty.png", b""), "The submitted file is empty."),
    "decompression bomb": (
        lambda: SimpleUploadedFile("bomb.png", png_claiming_size(100_000, 100_000)),
        "The image has too many pixels; the limit is 40,000,000 pixels.",
    ),
    "image over the pixel cap": (
        lambda: SimpleUploadedFile("wide.png", png_claiming_size(10_000, 5_000)),
        "The image has 50,000,000 pixels; the limit is 40,000,000 pixels.",
    ),
    "JPEG named .png": (
        lambda: image_file("JPEG", name="photo.png"),
        "The file is named .png but its content is a JPEG image. Rename it to .jpg or upload the right file.",
    ),
    "PDF": (
        lambda: SimpleUploadedFile("doc.pdf", b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"),
        "This file is not an image we can read.",
    ),
}


@override_settings(UPLOAD_MAX_BYTES=100 * 1024)
@pytest.mark.parametrize("case", list(REFUSALS))
def test_bad_files_are_refused_with_a_clear_message_and_nothing_is_stored(case, client, django_user_model):
    make_file, message = REFUSALS[case]
    client.force_login(django_user_model.objects.create_user("ada"))
    before = stored_files()

    response = client.post("/uploads/new/", {"file": make_file()})

    assert response.status_code == 200  # the form again, not a redirect
    assert message in response.content.decode()
    assert Upload.objects.count() == 0
    assert stored_files() == before


def test_the_size_cap_holds_by_default():
    # 10 MB by default: a file just over it is refused before Pillow reads a byte. (Through the form and
    # the API the upload handler refuses it even earlier, with a 413: see test_request_limits.py.)
    too_big = SimpleUploadedFile("big.png", b"\x89PNG\r\n\x1a\n" + b"\0" * (10 * 1024 * 1024))
    with pytest.raises(ValidationError, match=r"The file is 10,485,768 bytes; the limit is 10,485,760 bytes\."):
        validate_image_upload(too_big)


def test_every_format_in_the_tests_is_accepted_by_the_form(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("ada"))
    with override_settings(OCR_ENABLED=False):
        for fmt in FORMATS:
            response = client.post("/uploads/new/", {"file": image_file(fmt, text="hello")})
            assert response.status_code == 302, (fmt, response.content.decode()[:500])
    assert Upload.objects.count() == len(FORMATS)
