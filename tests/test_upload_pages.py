"""The upload pages: sign-in, who sees what, the file itself, and OCR switched off."""

from __future__ import annotations

import pytest
from django.test import override_settings

from jobregistry import JobRecord
from uploads.models import OcrStatus, Upload

from .images import image_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(django_user_model):
    return django_user_model.objects.create_user("ada", password="pw-ada-123")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", password="pw-bob-123")


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("sam", password="pw-sam-123", is_staff=True)


@pytest.fixture
def adas_upload(client, ada) -> Upload:
    client.force_login(ada)
    with override_settings(OCR_ENABLED=False):
        response = client.post(
            "/uploads/new/", {"file": image_file("PNG", text="private", name="../../etc/pass\x07wd.png")}
        )
    client.logout()
    assert response.status_code == 302
    return Upload.objects.get()


@pytest.mark.parametrize(
    "path", ["/uploads/", "/uploads/new/", "/uploads/1/", "/uploads/1/file/", "/uploads/1/status/"]
)
def test_pages_need_a_signed_in_user(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_person_can_sign_in_and_out(client, ada):
    response = client.post("/accounts/login/", {"username": "ada", "password": "pw-ada-123"})
    assert response.status_code == 302 and response["Location"] == "/uploads/"
    assert client.get("/uploads/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/uploads/").status_code == 302


def test_the_upload_form_is_csrf_protected(ada):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(ada)
    response = strict.post("/uploads/new/", {"file": image_file("PNG", text="hi")})
    assert response.status_code == 403
    assert Upload.objects.count() == 0


def test_an_upload_redirects_to_its_page_and_is_stored_under_a_generated_key(client, ada, adas_upload):
    upload = adas_upload
    assert upload.owner == ada
    assert upload.object_key.startswith("uploads/") and upload.object_key.endswith(".png")
    assert "pass" not in upload.object_key  # the client's name never reaches the key
    assert upload.original_name == "passwd.png"  # path and control characters stripped for display
    assert (upload.mime, upload.width) == ("image/png", 1400)
    assert upload.size == upload.file.size


def test_owner_sees_the_upload_in_the_list_the_page_and_the_file(client, ada, adas_upload):
    client.force_login(ada)
    assert "passwd.png" in client.get("/uploads/").content.decode()
    assert client.get(f"/uploads/{adas_upload.pk}/").status_code == 200
    response = client.get(f"/uploads/{adas_upload.pk}/file/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


@pytest.mark.parametrize("suffix", ["", "file/", "status/"])
def test_another_user_cannot_see_or_download_the_upload(client, bob, adas_upload, suffix):
    client.force_login(bob)
    assert client.get(f"/uploads/{adas_upload.pk}/{suffix}").status_code == 404
    assert "passwd.png" not in client.get("/uploads/").content.decode()


@pytest.mark.parametrize("suffix", ["", "file/", "status/"])
def test_staff_can_see_any_upload(client, staff, adas_upload, suffix):
    client.force_login(staff)
    assert client.get(f"/uploads/{adas_upload.pk}/{suffix}").status_code == 200


def test_files_are_not_served_from_a_public_media_url(client, ada, adas_upload):
    client.force_login(ada)
    assert client.get(f"/media/{adas_upload.object_key}").status_code == 404
    assert client.get(f"/{adas_upload.object_key}").status_code == 404


def test_with_ocr_off_no_job_is_enqueued_and_the_upload_says_so(client, ada, adas_upload):
    assert adas_upload.ocr_status == OcrStatus.DISABLED
    assert adas_upload.ocr_job is None
    assert not JobRecord.objects.filter(name="ocr:process", data__upload_id=adas_upload.pk).exists()
    client.force_login(ada)
    assert "OCR is disabled" in client.get(f"/uploads/{adas_upload.pk}/").content.decode()


def test_with_ocr_on_the_upload_and_its_job_record_commit_together(client, ada):
    client.force_login(ada)
    response = client.post("/uploads/new/", {"file": image_file("PNG", text="hello")})
    upload = Upload.objects.get()
    assert response["Location"] == f"/uploads/{upload.pk}/"
    job = upload.ocr_job
    assert (job.name, job.max_attempts, job.backoff) == ("ocr:process", 3, {"type": "exponential", "delay": 1000})
    assert job.data == {"upload_id": upload.pk, "object_key": upload.object_key, "mime": "image/png"}
    assert upload.ocr_status == OcrStatus.QUEUED
