"""OCR end to end: a real worker runs real Tesseract on images the tests render."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import override_settings

from jobregistry import JobStatus, enqueue_job
from uploads.models import OcrStatus, Upload
from uploads.services import create_upload, request_ocr
from uploads.validators import validate_image_upload

from .images import FORMATS, SENTENCE, blank_image_file, image_file, word_match
from .test_worker import wait_for_end
from .waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

MIN_WORD_MATCH = 0.9  # Tesseract may misread a word; the sentence has 16.


@pytest.fixture
def ada(django_user_model):
    return django_user_model.objects.create_user("ada", password="pw-ada-123")


def upload_through_the_form(client, user, file) -> Upload:
    client.force_login(user)
    response = client.post("/uploads/new/", {"file": file})
    assert response.status_code == 302, response.content.decode()[:1000]
    return Upload.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[1]))


def wait_for_ocr(upload: Upload) -> Upload:
    wait_for_end(upload.ocr_job_id)
    return Upload.objects.select_related("ocr_job").get(pk=upload.pk)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "TIFF", "WEBP"])
def test_a_rendered_sentence_uploaded_through_the_form_is_read_back(client, ada, worker, fmt):
    upload = upload_through_the_form(client, ada, image_file(fmt))
    done = wait_for_ocr(upload)
    match = word_match(SENTENCE, done.ocr_text)
    print(f"{fmt}: {match:.0%} of words match; OCR text: {done.ocr_text!r}")
    assert done.ocr_job.status == JobStatus.FINISHED, done.ocr_job.error_message
    assert done.ocr_status == OcrStatus.DONE
    assert match >= MIN_WORD_MATCH
    assert done.ocr_job.result["words"] == len(done.ocr_text.split())
    assert done.ocr_job.progress == 100


def test_the_status_endpoint_the_page_polls_reports_the_text(client, ada, worker):
    upload = upload_through_the_form(client, ada, image_file("PNG", text="Polling works fine"))
    # The upload is marked done inside the job, a moment before the job itself is recorded finished.
    state = wait_until(
        lambda: (
            (s := client.get(f"/uploads/{upload.pk}/status/").json())["final"]
            and s["job"]["status"] == "finished"
            and s
        ),
        what="final OCR state",
    )
    assert state["ocr_status"] == "done"
    assert word_match("Polling works fine", state["ocr_text"]) >= MIN_WORD_MATCH
    assert state["job"]["status"] == "finished"


def test_an_image_without_text_is_a_success_with_empty_text(client, ada, worker):
    done = wait_for_ocr(upload_through_the_form(client, ada, blank_image_file()))
    assert done.ocr_job.status == JobStatus.FINISHED
    assert (done.ocr_status, done.ocr_text) == (OcrStatus.DONE, "")


def stored_upload(owner, key: str, content: bytes | None) -> Upload:
    """An Upload row for `key`, as if uploaded earlier; `content` None means the file is gone."""
    if content is not None:
        key = default_storage.save(key, ContentFile(content))
    return Upload.objects.create(owner=owner, file=key, mime="image/png", size=len(content or b""), width=1, height=1)


def test_a_missing_file_fails_the_job_and_the_upload_with_a_clear_error(ada, worker):
    upload = stored_upload(ada, "uploads/test/gone.png", None)
    request_ocr(upload)
    done = wait_for_ocr(upload)
    assert done.ocr_job.status == JobStatus.FAILED
    assert done.ocr_job.attempts == 1  # no retry can bring the file back
    message = "The file 'uploads/test/gone.png' is missing from storage."
    assert done.ocr_job.error_message == message
    assert (done.ocr_status, done.ocr_error) == (OcrStatus.FAILED, message)


def test_an_unreadable_file_fails_the_job_and_the_upload_with_a_clear_error(ada, worker):
    upload = stored_upload(ada, "uploads/test/garbage.png", b"\x89PNG but not really")
    request_ocr(upload)
    done = wait_for_ocr(upload)
    assert done.ocr_job.status == JobStatus.FAILED
    assert "is not a readable image" in done.ocr_job.error_message
    assert done.ocr_status == OcrStatus.FAILED
    assert "is not a readable image" in done.ocr_error


def test_a_worker_without_tesseract_fails_the_job_and_the_upload_with_a_clear_error(ada, start_worker):
    # A worker of its own, on a queue only it works, whose tesseract is not installed.
    start_worker("isolated", env={"OCR_TESSERACT_CMD": "/nonexistent/tesseract"})
    file = image_file("PNG", text="no tesseract here")
    with override_settings(OCR_ENABLED=False):
        upload = create_upload(owner=ada, file=file, info=validate_image_upload(file))
    upload.ocr_job = enqueue_job(
        "ocr:process",
        {"upload_id": upload.pk, "object_key": upload.object_key, "mime": upload.mime},
        queue="isolated",
    )
    upload.save()
    done = wait_for_ocr(upload)
    assert done.ocr_job.status == JobStatus.FAILED
    assert "The tesseract program ('/nonexistent/tesseract') is not installed" in done.ocr_job.error_message
    assert done.ocr_job.error_type == "uploads.ocr.OcrUnavailable"
    assert done.ocr_status == OcrStatus.FAILED
    assert "install the tesseract-ocr package" in done.ocr_error


def test_the_rendered_formats_cover_every_format_the_validator_accepts():
    from uploads.validators import ACCEPTED_FORMATS

    assert set(FORMATS) == set(ACCEPTED_FORMATS)
