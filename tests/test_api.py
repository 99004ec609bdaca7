"""The REST API: every endpoint's happy path, its permission matrix, pagination, filters, errors."""

from __future__ import annotations

import uuid

import pytest
import redis.connection
from django.contrib.auth.models import Permission
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from jobregistry import JobRecord, JobStatus, enqueue_job
from uploads.models import Upload

from .images import image_file
from .storage import stored_files
from .test_worker import wait_for_end

pytestmark = pytest.mark.django_db(transaction=True)
AN_HOUR_MS = 3_600_000


@pytest.fixture
def users(django_user_model):
    ada = django_user_model.objects.create_user("ada", password="pw-ada-123")
    bob = django_user_model.objects.create_user("bob", password="pw-bob-123")
    staff = django_user_model.objects.create_user("sam", password="pw-sam-123", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="change_jobrecord"))
    viewer = django_user_model.objects.create_user("vic", password="pw-vic-123", is_staff=True)
    return {"ada": ada, "bob": bob, "staff": staff, "viewer": viewer}


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def post_upload(client: APIClient, file=None):
    return client.post("/api/uploads/", {"file": file or image_file("PNG", text="hello")}, format="multipart")


# --- authentication ------------------------------------------------------------------------


def test_a_token_is_obtained_with_username_and_password(users):
    response = APIClient().post("/api/auth/token/", {"username": "ada", "password": "pw-ada-123"})
    assert response.status_code == 200
    token = response.json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/uploads/").status_code == 200


def test_a_wrong_password_gets_no_token(users):
    response = APIClient().post("/api/auth/token/", {"username": "ada", "password": "nope"})
    assert response.status_code == 400
    assert "Unable to log in with provided credentials." in response.json()["non_field_errors"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/uploads/"), ("post", "/api/uploads/"), ("get", "/api/uploads/1/"), ("delete", "/api/uploads/1/"),
     ("get", "/api/uploads/1/file/"),
     ("get", "/api/jobs/"), ("get", "/api/jobs/x/"), ("post", "/api/jobs/x/retry/"), ("post", "/api/jobs/x/cancel/"),
     ("get", "/api/job-types/")],
)  # fmt: skip
def test_anonymous_requests_get_401(method, path):
    response = getattr(APIClient(), method)(path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_bad_token_gets_401():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get("/api/uploads/").status_code == 401


def test_a_session_works_too(client, users):
    client.force_login(users["ada"])
    assert client.get("/api/uploads/").status_code == 200


# --- uploads -------------------------------------------------------------------------------


@override_settings(OCR_ENABLED=False)
def test_post_an_upload_returns_201_the_upload_and_its_location(users):
    response = post_upload(client_for(users["ada"]))
    assert response.status_code == 201, response.content
    body = response.json()
    upload = Upload.objects.get(pk=body["id"])
    assert response["Location"] == f"http://testserver/api/uploads/{upload.pk}/"
    assert body["object_key"] == upload.object_key
    assert (body["mime"], body["width"], body["size"]) == ("image/png", 1400, upload.size)
    assert (body["ocr_status"], body["ocr_text"], body["job"]) == ("disabled", "", None)
    assert set(body) >= {
        "id",
        "object_key",
        "mime",
        "size",
        "width",
        "height",
        "ocr_status",
        "ocr_text",
        "job",
        "created",
    }


def test_post_an_upload_with_ocr_on_links_its_job(users, worker):
    response = post_upload(client_for(users["ada"]))
    assert response.status_code == 201
    job = response.json()["job"]
    assert job["status"] in {"queued", "started", "finished"}
    assert wait_for_end(job["id"]).status == JobStatus.FINISHED


def test_an_upload_waits_on_no_ocr_and_on_one_redis_round_trip_its_job_hand_over(users, redis_conn, monkeypatch):
    from jobregistry.connection import get_queue

    # Once per process, not per upload: a new connection's HELLO and RQ's INFO for the server version.
    get_queue("default").get_redis_server_version()
    sent: list[bytes] = []
    original = redis.connection.AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        sent.append(b"".join(command) if isinstance(command, list | tuple) else command)
        return original(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    response = post_upload(client_for(users["ada"]))
    assert response.status_code == 201
    assert response.json()["job"]["status"] == "queued"  # no worker runs here: nothing waited for one
    assert len(sent) == 1, sent  # the hand-over pipeline, MULTI ... EXEC
    assert b"MULTI" in sent[0] and response.json()["job"]["id"].encode() in sent[0]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "No file was submitted."),
        ({"file": ""}, "The submitted data was not a file."),
        ({"file": "text"}, "The submitted data was not a file."),
    ],
)
def test_post_without_a_file_is_a_400_with_a_field_error(users, data, message):
    response = client_for(users["ada"]).post("/api/uploads/", data, format="multipart")
    assert response.status_code == 400
    assert message in response.json()["file"][0]


def test_post_a_bad_file_is_a_400_with_the_validators_message_and_stores_nothing(users):
    from django.core.files.uploadedfile import SimpleUploadedFile

    before = stored_files()
    response = post_upload(client_for(users["ada"]), SimpleUploadedFile("x.png", b"not an image at all"))
    assert response.status_code == 400
    assert response.json() == {
        "file": ["This file is not an image we can read. Upload a PNG, JPEG, GIF, TIFF, WebP or BMP image."]
    }
    assert Upload.objects.count() == 0 and stored_files() == before


def test_post_json_instead_of_multipart_is_a_415(users):
    response = client_for(users["ada"]).post("/api/uploads/", {"file": "x"}, format="json")
    assert response.status_code == 415


@override_settings(OCR_ENABLED=False)
def test_list_shows_only_your_own_uploads_newest_first_paginated(users):
    ada, bob = client_for(users["ada"]), client_for(users["bob"])
    ids = [post_upload(ada).json()["id"] for _ in range(23)]
    post_upload(bob)
    page1 = ada.get("/api/uploads/").json()
    assert page1["count"] == 23
    assert [u["id"] for u in page1["results"]] == ids[::-1][:20]
    page2 = ada.get(page1["next"]).json()
    assert [u["id"] for u in page2["results"]] == ids[::-1][20:]
    assert ada.get("/api/uploads/?page=99").status_code == 404
    assert client_for(users["staff"]).get("/api/uploads/").json()["count"] == 0  # the list is always your own


@override_settings(OCR_ENABLED=False)
def test_list_filters_by_ocr_status(users):
    ada = client_for(users["ada"])
    first, second = post_upload(ada).json()["id"], post_upload(ada).json()["id"]
    Upload.objects.filter(pk=first).update(ocr_status="done")
    assert [u["id"] for u in ada.get("/api/uploads/?ocr_status=done").json()["results"]] == [first]
    assert [u["id"] for u in ada.get("/api/uploads/?ocr_status=disabled").json()["results"]] == [second]
    bad = ada.get("/api/uploads/?ocr_status=nonsense")
    assert bad.status_code == 400
    assert "Select a valid choice." in bad.json()["ocr_status"][0]


@override_settings(OCR_ENABLED=False)
@pytest.mark.parametrize(("who", "can_read", "can_delete"), [("ada", True, True), ("bob", False, False),
                                                             ("staff", True, True)])  # fmt: skip
def test_read_and_delete_permissions(users, who, can_read, can_delete):
    upload_id = post_upload(client_for(users["ada"])).json()["id"]
    key = Upload.objects.get(pk=upload_id).object_key
    client = client_for(users[who])
    assert client.get(f"/api/uploads/{upload_id}/").status_code == (200 if can_read else 404)
    response = client.delete(f"/api/uploads/{upload_id}/")
    assert response.status_code == (204 if can_delete else 404)
    assert Upload.objects.filter(pk=upload_id).exists() is not can_delete
    assert (key in stored_files()) is not can_delete  # the file goes with the row


@override_settings(OCR_ENABLED=False)
@pytest.mark.parametrize(("who", "status"), [("ada", 200), ("bob", 404), ("staff", 200), (None, 401)])
def test_the_file_is_downloaded_with_a_token_by_who_may_see_it(users, who, status):
    body = post_upload(client_for(users["ada"])).json()
    assert body["file_url"] == f"/api/uploads/{body['id']}/file/"
    response = client_for(users[who] if who else None).get(body["file_url"])
    assert response.status_code == status
    if status == 200:
        assert response["Content-Type"] == "image/png"
        assert response["X-Content-Type-Options"] == "nosniff"
        content = b"".join(response.streaming_content)
        assert content == Upload.objects.get(pk=body["id"]).file.read()


def test_an_unknown_upload_is_a_404(users):
    assert client_for(users["ada"]).get("/api/uploads/999999/").status_code == 404
    assert client_for(users["ada"]).get("/api/uploads/not-a-number/").status_code == 404


# --- jobs ----------------------------------------------------------------------------------


def test_job_types_lists_names_and_queues(users):
    response = client_for(users["ada"]).get("/api/job-types/")
    assert response.status_code == 200
    types = {t["name"]: t for t in response.json()}
    assert types["ocr:process"]["queue"] == "default"
    assert types["test:low"]["queue"] == "low"
    assert types["jobs:ping"]["description"] == "Answer with the payload: a cheap check that workers run jobs."


def make_jobs(users):
    ada_job = enqueue_job("test:echo", {"who": "ada"}, owner=users["ada"], delay=AN_HOUR_MS)
    bob_job = enqueue_job("test:low", {"who": "bob"}, owner=users["bob"], delay=AN_HOUR_MS)
    system_job = enqueue_job("test:echo", {"who": "system"}, delay=AN_HOUR_MS)
    return ada_job, bob_job, system_job


def test_users_see_their_own_jobs_and_staff_see_all(users):
    ada_job, bob_job, system_job = make_jobs(users)
    seen = {who: {j["id"] for j in client_for(users[who]).get("/api/jobs/").json()["results"]} for who in users}
    assert seen["ada"] == {ada_job.pk}
    assert seen["bob"] == {bob_job.pk}
    assert seen["staff"] == seen["viewer"] == {ada_job.pk, bob_job.pk, system_job.pk}
    assert client_for(users["bob"]).get(f"/api/jobs/{ada_job.pk}/").status_code == 404
    assert client_for(users["ada"]).get(f"/api/jobs/{ada_job.pk}/").status_code == 200


def test_jobs_filter_by_name_status_and_queue(users):
    ada_job, bob_job, system_job = make_jobs(users)
    staff = client_for(users["staff"])

    def ids(query):
        response = staff.get(f"/api/jobs/?{query}")
        assert response.status_code == 200, response.content
        return {j["id"] for j in response.json()["results"]}

    assert ids("name=test:low") == {bob_job.pk}
    assert ids("queue=default") == {ada_job.pk, system_job.pk}
    assert ids("status=scheduled&name=test:echo") == {ada_job.pk, system_job.pk}
    assert ids("status=finished") == set()
    assert staff.get("/api/jobs/?status=bogus").status_code == 400


def test_jobs_are_paginated_newest_first(users):
    for n in range(25):
        enqueue_job("test:echo", {"n": n}, delay=AN_HOUR_MS)
    page1 = client_for(users["staff"]).get("/api/jobs/").json()
    assert page1["count"] == 25 and len(page1["results"]) == 20 and page1["next"]
    assert [JobRecord.objects.get(pk=j["id"]).data["n"] for j in page1["results"][:3]] == [24, 23, 22]


def test_job_detail_has_the_full_record(users, worker):
    record = enqueue_job("test:always-fail", {"marker": "m"}, owner=users["ada"])
    wait_for_end(record.pk)
    body = client_for(users["ada"]).get(f"/api/jobs/{record.pk}/").json()
    assert body["status"] == "failed"
    assert body["data"] == {"marker": "m"}
    assert body["error_type"] == "builtins.ValueError" and "Traceback" in body["error_traceback"]
    assert [a["outcome"] for a in body["attempt_log"]] == ["failed"]
    assert {"result", "progress", "progress_message", "enqueued_at", "started_at", "finished_at"} <= set(body)


@pytest.mark.parametrize("act", ["retry", "cancel"])
@pytest.mark.parametrize(("who", "expected"), [("ada", 403), ("bob", 403), ("viewer", 403)])
def test_only_staff_who_may_change_jobs_can_retry_or_cancel(users, act, who, expected):
    ada_job, _, _ = make_jobs(users)
    response = client_for(users[who]).post(f"/api/jobs/{ada_job.pk}/{act}/")
    assert response.status_code == expected
    assert JobRecord.objects.get(pk=ada_job.pk).status == JobStatus.SCHEDULED


def test_cancel_a_scheduled_job_takes_it_out_of_redis(users, redis_conn):
    record = enqueue_job("test:echo", {}, delay=AN_HOUR_MS)
    response = client_for(users["staff"]).post(f"/api/jobs/{record.pk}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "canceled"
    assert record.pk not in ScheduledJobRegistry("default", connection=redis_conn).get_job_ids()
    assert not Job.exists(record.pk, connection=redis_conn)


def test_a_canceled_job_that_reaches_a_worker_anyway_does_not_run(users, worker, redis_conn):
    from rq import Queue

    record = enqueue_job("test:echo", {}, delay=AN_HOUR_MS)
    client_for(users["staff"]).post(f"/api/jobs/{record.pk}/cancel/")
    # A copy of the job that was already on its way to a worker (e.g. popped before the cancel).
    queue = Queue("default", connection=redis_conn, serializer="rq.serializers.JSONSerializer")
    stray = queue.enqueue("jobregistry.runner.run_job", "test:echo", {}, job_id=record.pk)
    from .waiting import wait_until

    wait_until(lambda: Job.fetch(stray.id, connection=redis_conn).get_status() == "finished", what="the stray copy")
    record.refresh_from_db()
    assert record.status == JobStatus.CANCELED
    assert record.attempts == 0 and not record.attempt_log.exists()


def test_retry_a_failed_job_runs_it_again_with_attempts_reset_and_history_kept(users, worker, tmp_path):
    path = tmp_path / f"needed-{uuid.uuid4().hex}.txt"
    record = enqueue_job("test:needs-file", {"path": str(path)}, attempts=2)
    failed = wait_for_end(record.pk)
    assert (failed.status, failed.attempts) == (JobStatus.FAILED, 2)

    path.write_text("here now")  # the operator fixes the cause
    response = client_for(users["staff"]).post(f"/api/jobs/{record.pk}/retry/")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["attempts"]) == ("queued", 0)

    done = wait_for_end(record.pk)
    assert (done.status, done.result, done.attempts) == (JobStatus.FINISHED, "here now", 1)
    assert [a.outcome for a in done.attempt_log.order_by("started_at")] == ["failed", "failed", "finished"]


@pytest.mark.parametrize(("act", "reason"), [
    ("retry", "is finished; only failed or canceled jobs can be retried."),
    ("cancel", "is finished; only pending, queued, scheduled or retrying jobs can be canceled."),
])  # fmt: skip
def test_acting_on_a_job_in_the_wrong_state_is_a_409_with_the_reason(users, worker, act, reason):
    record = enqueue_job("test:echo", {})
    wait_for_end(record.pk)
    response = client_for(users["staff"]).post(f"/api/jobs/{record.pk}/{act}/")
    assert response.status_code == 409
    assert response.json() == {"detail": f"Job {record.pk} {reason}"}


def test_acting_on_an_unknown_job_is_a_404(users):
    assert client_for(users["staff"]).post("/api/jobs/nope/retry/").status_code == 404
    assert client_for(users["staff"]).get("/api/jobs/nope/").status_code == 404
