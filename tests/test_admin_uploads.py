"""Uploads in the admin: thumbnails through the protected file view, OCR status and text, OCR again."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import override_settings

from jobregistry import JobRecord, JobStatus, related_object
from uploads.models import OcrStatus, Upload
from uploads.services import create_upload
from uploads.validators import validate_image_upload

from .factories import grant
from .images import image_file
from .storage import stored_files

pytestmark = pytest.mark.django_db

LIST_URL = "/admin/uploads/upload/"


@pytest.fixture
def users(django_user_model):
    make = django_user_model.objects.create_user
    return {
        "ada": make("ada", password="pw-ada-123"),
        "sid": make("sid", password="pw-sid-123", is_staff=True),
        "vic": grant(make("vic", password="pw-vic-123", is_staff=True), "view_upload", "view_jobrecord"),
        "opal": grant(make("opal", password="pw-opal-123", is_staff=True), "change_upload", "delete_upload"),
    }


@pytest.fixture
def upload(users) -> Upload:
    file = image_file("PNG", text="admin sees this")
    with override_settings(OCR_ENABLED=False):
        upload = create_upload(owner=users["ada"], file=file, info=validate_image_upload(file))
    Upload.objects.filter(pk=upload.pk).update(ocr_status=OcrStatus.DONE, ocr_text="admin sees <this>")
    return Upload.objects.get(pk=upload.pk)


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.mark.parametrize(("who", "status"), [("ada", 302), ("sid", 403), ("vic", 200), ("opal", 200)])
def test_only_staff_with_permission_see_uploads(client, users, upload, who, status):
    client.force_login(users[who])
    assert client.get(LIST_URL).status_code == status
    assert client.get(f"{LIST_URL}{upload.pk}/change/").status_code == status


def test_the_list_shows_a_thumbnail_from_the_protected_view_owner_type_size_and_ocr(client, users, upload):
    client.force_login(users["vic"])
    page = client.get(LIST_URL).content.decode()
    file_url = f"/uploads/{upload.pk}/file/"
    assert f'<img class="upl-thumb" src="{file_url}"' in page
    assert "/media/" not in page and upload.object_key not in page  # never a public media URL
    assert ">ada<" in page and "image/png" in page
    assert '<span class="upl-badge upl-ocr-done">done</span>' in page
    thumbnail = client.get(file_url)  # staff may load every upload's image
    assert thumbnail.status_code == 200 and thumbnail["Content-Type"] == "image/png"
    assert 'value="run_ocr_again"' not in page  # viewing is not running OCR


def test_the_detail_page_shows_the_image_the_text_and_a_link_to_the_job(client, users, upload):
    client.force_login(users["opal"])
    client.post(LIST_URL, {"action": "run_ocr_again", "index": "0", "_selected_action": [upload.pk]})
    upload.refresh_from_db()
    client.force_login(users["vic"])
    page = client.get(f"{LIST_URL}{upload.pk}/change/").content.decode()
    assert f'<img class="upl-preview" src="/uploads/{upload.pk}/file/"' in page
    assert f'href="/admin/jobregistry/jobrecord/{upload.ocr_job_id}/change/">ocr:process · queued</a>' in page
    assert "1400 x" in page and "sentence.png" in page
    job_page = client.get(f"/admin/jobregistry/jobrecord/{upload.ocr_job_id}/change/").content.decode()
    assert f'<a href="/admin/uploads/upload/{upload.pk}/change/">upload sentence.png (ada)</a>' in job_page


def test_the_ocr_text_is_shown_escaped_in_a_monospace_block(client, users, upload):
    client.force_login(users["vic"])
    page = client.get(f"{LIST_URL}{upload.pk}/change/").content.decode()
    assert '<pre class="upl-text">admin sees &lt;this&gt;</pre>' in page


@pytest.mark.parametrize(
    ("query", "found"),
    [("?q=ada", True), ("?q=sees", True), ("?q=nobody", False), ("?mime=image%2Fpng", True),
     ("?mime=image%2Fjpeg", False), ("?ocr_status__exact=done", True), ("?ocr_status__exact=failed", False)],
)  # fmt: skip
def test_uploads_are_found_by_owner_text_type_and_status(client, users, upload, query, found):
    client.force_login(users["vic"])
    result = client.get(f"{LIST_URL}{query}").context["cl"].result_list
    assert (upload in result) is found


def test_run_ocr_again_queues_a_new_job_and_skips_uploads_already_being_read(client, users, upload):
    busy_file = image_file("PNG", text="busy")
    with override_settings(OCR_ENABLED=False):
        busy = create_upload(owner=users["ada"], file=busy_file, info=validate_image_upload(busy_file))
    Upload.objects.filter(pk=busy.pk).update(ocr_status=OcrStatus.RUNNING)
    client.force_login(users["opal"])
    page = client.get(LIST_URL).content.decode()
    assert 'value="run_ocr_again"' in page

    response = client.post(
        LIST_URL, {"action": "run_ocr_again", "index": "0", "_selected_action": [upload.pk, busy.pk]}, follow=True
    )
    assert messages_of(response) == [
        "Queued OCR for 1 upload.",
        "Skipped 1 upload whose OCR is already queued or running.",
    ]
    upload.refresh_from_db()
    assert (upload.ocr_status, upload.ocr_text) == (OcrStatus.QUEUED, "")
    job = JobRecord.objects.get(pk=upload.ocr_job_id)
    assert (job.name, job.status, job.data["upload_id"], job.owner) == (
        "ocr:process",
        JobStatus.QUEUED,
        upload.pk,
        users["ada"],
    )
    assert Upload.objects.get(pk=busy.pk).ocr_job_id is None


@override_settings(OCR_ENABLED=False)
def test_run_ocr_again_with_ocr_switched_off_queues_nothing_and_says_why(client, users, upload):
    client.force_login(users["opal"])
    response = client.post(
        LIST_URL, {"action": "run_ocr_again", "index": "0", "_selected_action": [upload.pk]}, follow=True
    )
    assert messages_of(response) == ["OCR is switched off (OCR_ENABLED=false); nothing was queued."]
    assert not JobRecord.objects.exists()


def test_nobody_adds_or_edits_an_upload_in_the_admin(client, users, upload):
    client.force_login(users["opal"])
    assert client.get(f"{LIST_URL}add/").status_code == 403
    response = client.post(f"{LIST_URL}{upload.pk}/change/", {"original_name": "renamed.png"})
    assert response.status_code == 403
    upload.refresh_from_db()
    assert upload.original_name == "sentence.png"


def test_deleting_an_upload_in_the_admin_deletes_its_file(client, users, upload, django_capture_on_commit_callbacks):
    client.force_login(users["opal"])
    assert upload.object_key in stored_files()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{LIST_URL}{upload.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Upload.objects.filter(pk=upload.pk).exists()
    assert upload.object_key not in stored_files()


def test_deleting_selected_uploads_deletes_their_files(client, users, django_capture_on_commit_callbacks):
    uploads = []
    for text in ("one", "two"):
        file = image_file("PNG", text=text)
        with override_settings(OCR_ENABLED=False):
            uploads.append(create_upload(owner=users["ada"], file=file, info=validate_image_upload(file)))
    client.force_login(users["opal"])
    data = {"action": "delete_selected", "index": "0", "_selected_action": [u.pk for u in uploads], "post": "yes"}
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(LIST_URL, data).status_code == 302
    assert not Upload.objects.exists()
    assert not {u.object_key for u in uploads} & stored_files()


@pytest.mark.parametrize(
    "data", [{}, {"upload_id": "7"}, {"upload_id": True}, {"upload_id": 999_999}, ["not", "a dict"]]
)
def test_an_ocr_job_without_a_valid_existing_upload_links_to_nothing(upload, data):
    assert related_object(JobRecord(name="ocr:process", data=data)) is None
    assert related_object(JobRecord(name="ocr:process", data={"upload_id": upload.pk})) == upload
