"""Request bodies of the wrong size, shape or type: 4xx with a clear message, never a 500.

- An oversized upload is refused while it arrives (uploads/upload_handlers.py): a handler placed
  after the limit counts the bytes that got past it, proving the file was not kept.
- API payloads of the wrong type (JSON for multipart, a string or a list for `file`, several
  files, junk for the token endpoint, wrong query parameter types) are 400/413/415.

The outcome of each bad API request is printed as a table at the end of the run.
"""

from __future__ import annotations

import json
import re
from typing import ClassVar

import pytest
from django.core.files.uploadhandler import FileUploadHandler
from django.test import Client, override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from uploads.models import Upload

from .images import image_file
from .multipart import multipart
from .reporting import report
from .storage import stored_files

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_ocr")]

TABLE = "Bad API and form requests"
HEADER = ("request", "status", "answer")


class CountingHandler(FileUploadHandler):
    """A real upload handler put right after the size limit: it records the file bytes that got past it."""

    received: ClassVar[list[int]] = []

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        CountingHandler.received.append(len(raw_data))
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


@pytest.fixture
def no_ocr():
    with override_settings(OCR_ENABLED=False):
        yield


@pytest.fixture
def counted():
    """Settings with CountingHandler after the limit; yields the list of chunk sizes it saw."""
    CountingHandler.received = []
    handlers = [
        "uploads.upload_handlers.UploadSizeLimitHandler",
        "tests.test_request_limits.CountingHandler",
        "django.core.files.uploadhandler.MemoryFileUploadHandler",
        "django.core.files.uploadhandler.TemporaryFileUploadHandler",
    ]
    with override_settings(FILE_UPLOAD_HANDLERS=handlers):
        yield CountingHandler.received


@pytest.fixture
def ada(django_user_model):
    return django_user_model.objects.create_user("ada", password="pw-ada-123")


@pytest.fixture
def api(ada) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=ada).key}")
    return client


def png_of(size: int) -> bytes:
    """A valid PNG padded to exactly `size` bytes (the padding follows the image, as in a polyglot)."""
    png = image_file("PNG", text="size").read()
    assert len(png) <= size
    return png + b"\0" * (size - len(png))


def send(api: APIClient, files: list, fields: dict | None = None):
    body, content_type = multipart(files, fields)
    return api.post("/api/uploads/", body, content_type=content_type)


def csrf_form_client(user) -> tuple[Client, str]:
    """A client that enforces CSRF, as a browser meets it, and the token from the form page."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    page = client.get("/uploads/new/").content.decode()
    return client, re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


# --- the size limit, while the body arrives --------------------------------------------------


@override_settings(UPLOAD_MAX_BYTES=100 * 1024)
def test_an_upload_at_the_limit_is_accepted(api, counted):
    response = send(api, [("file", "edge.png", png_of(100 * 1024))])
    assert response.status_code == 201, response.content
    assert sum(counted) == 100 * 1024


@override_settings(UPLOAD_MAX_BYTES=100 * 1024)
def test_a_file_over_the_limit_is_refused_before_it_is_kept_form_with_csrf(ada, counted):
    client, token = csrf_form_client(ada)
    before = stored_files()
    body, content_type = multipart([("file", "big.png", png_of(100 * 1024 + 1))], {"csrfmiddlewaretoken": token})

    response = client.post("/uploads/new/", body, content_type=content_type)

    # The CSRF token came before the file, so the browser gets the form and the reason, not a 403.
    assert response.status_code == 413
    assert "<li>The file is larger than 100.0\xa0KB, the limit.</li>" in response.content.decode()
    assert sum(counted) <= 100 * 1024  # the chunk that crossed the limit was never passed on
    assert Upload.objects.count() == 0 and stored_files() == before
    report(
        TABLE, HEADER, "form: a file 1 byte over UPLOAD_MAX_BYTES", 413, "The file is larger than 100.0 KB, the limit."
    )


@override_settings(UPLOAD_MAX_BYTES=100 * 1024)
def test_a_file_over_the_limit_is_refused_before_it_is_kept_api(api, counted):
    response = send(api, [("file", "big.png", png_of(150 * 1024))])
    assert response.status_code == 413
    assert response.json() == {"file": ["The file is larger than 100.0\xa0KB, the limit."]}
    assert sum(counted) <= 100 * 1024
    assert Upload.objects.count() == 0
    report(TABLE, HEADER, "API: a file over UPLOAD_MAX_BYTES", 413, response.content.decode())


@override_settings(UPLOAD_MAX_BYTES=100 * 1024, DATA_UPLOAD_MAX_MEMORY_SIZE=10 * 1024)
@pytest.mark.parametrize("route", ["form", "api"])
def test_a_body_declared_too_large_is_refused_without_reading_the_file(ada, api, counted, route):
    data = png_of(3 * 1024 * 1024)
    if route == "form":
        client, token = csrf_form_client(ada)
        response = client.post(
            "/uploads/new/", *multipart([("file", "huge.png", data)], {"csrfmiddlewaretoken": token})
        )
        assert response.status_code == 413
        assert "<li>The upload is 3.0\xa0MB; the limit is 100.0\xa0KB.</li>" in response.content.decode()
    else:
        response = send(api, [("file", "huge.png", data)])
        assert response.status_code == 413
        assert response.json() == {"file": ["The upload is 3.0\xa0MB; the limit is 100.0\xa0KB."]}
    assert counted == []  # not one byte of the file went further
    assert Upload.objects.count() == 0
    report(TABLE, HEADER, f"{route}: a 3 MB body, limit 100 KB", 413, "The upload is 3.0 MB; the limit is 100.0 KB.")


def test_the_default_limit_is_10_mb(api, counted):
    response = send(api, [("file", "big.png", png_of(10 * 1024 * 1024 + 1))])
    assert response.status_code == 413
    assert response.json() == {"file": ["The file is larger than 10.0\xa0MB, the limit."]}
    assert sum(counted) <= 10 * 1024 * 1024


# --- several files ---------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["form", "api"])
def test_several_files_are_refused(ada, api, route):
    png = image_file("PNG", text="one").read()
    body, content_type = multipart([("file", "a.png", png), ("file", "b.png", png)])
    if route == "form":
        client = Client()
        client.force_login(ada)
        response = client.post("/uploads/new/", body, content_type=content_type)
        assert response.status_code == 200
        assert "<li>Send one file at a time; this request has 2.</li>" in response.content.decode()
    else:
        response = api.post("/api/uploads/", body, content_type=content_type)
        assert response.status_code == 400
        assert response.json() == {"file": ["Send one file at a time; this request has 2."]}
    assert Upload.objects.count() == 0
    report(TABLE, HEADER, f"{route}: two files in `file`", response.status_code, "Send one file at a time; ...")


def test_more_files_than_django_allows_is_a_json_400(api):
    png = b"x"
    body, content_type = multipart([("file", f"{n}.png", png) for n in range(101)])
    response = api.post("/api/uploads/", body, content_type=content_type)
    assert response.status_code == 400
    assert response.json() == {"detail": "The request carries more than 100 files."}
    report(TABLE, HEADER, "API: 101 files", 400, response.content.decode())


# --- wrong types and shapes for POST /api/uploads/ -----------------------------------------

UPLOAD_BODIES = {
    "JSON body {'file': 'x'}": (json.dumps({"file": "x"}), "application/json", 415),
    "JSON body, file as a list": (json.dumps({"file": ["a", "b"]}), "application/json", 415),
    "`file` as a string": ("file=hello", "application/x-www-form-urlencoded", 400),
    "`file` as a list of strings": ("file=a&file=b", "application/x-www-form-urlencoded", 400),
    "multipart without a boundary": ("--x\r\n", "multipart/form-data", 400),
    "multipart, boundary never closed": (
        "--b\r\nContent-Disposition: form-data; name=",
        "multipart/form-data; boundary=b",
        400,
    ),
    "multipart, base64 junk": (
        '--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n!!!!\r\n--b--\r\n",
        "multipart/form-data; boundary=b",
        400,
    ),
    "text/plain body": ("just text", "text/plain", 415),
    "XML body": ("<file>x</file>", "application/xml", 415),
    "form, charset bz2_codec": ("file=x", "application/x-www-form-urlencoded; charset=bz2_codec", 400),
}


@pytest.mark.parametrize("label", list(UPLOAD_BODIES))
def test_upload_payloads_of_the_wrong_type_are_4xx(api, label):
    body, content_type, expected = UPLOAD_BODIES[label]
    response = api.post("/api/uploads/", body, content_type=content_type)
    assert response.status_code == expected, response.content
    answer = response.json()
    assert answer.get("detail") or answer.get("file"), answer
    assert Upload.objects.count() == 0
    report(TABLE, HEADER, f"POST /api/uploads/: {label}", response.status_code, json.dumps(answer)[:110])


def test_broken_multipart_through_the_form_is_a_400_page(ada):
    client = Client()
    client.force_login(ada)
    response = client.post("/uploads/new/", "--x\r\n", content_type="multipart/form-data")
    assert response.status_code == 400
    assert "The server could not read this request." in response.content.decode()
    report(TABLE, HEADER, "form: multipart without a boundary", 400, "the 400 page")


# --- the token endpoint ----------------------------------------------------------------------

TOKEN_BODIES = {
    "JSON list": ("[1, 2]", "application/json", 400),
    "JSON string": ('"admin"', "application/json", 400),
    "broken JSON": ('{"username": ', "application/json", 400),
    "username as a list": (json.dumps({"username": ["ada"], "password": "pw-ada-123"}), "application/json", 400),
    "username as an object": (json.dumps({"username": {"$ne": ""}, "password": "x"}), "application/json", 400),
    "username as null": (json.dumps({"username": None, "password": "x"}), "application/json", 400),
    "username with NUL": (json.dumps({"username": "ada\x00", "password": "x"}), "application/json", 400),
    "username of 100,000 characters": (
        json.dumps({"username": "a" * 100_000, "password": "x"}),
        "application/json",
        400,
    ),
    "NaN for a password": ('{"username": "ada", "password": NaN}', "application/json", 400),
    "no password": (json.dumps({"username": "ada"}), "application/json", 400),
    "text/plain": ("username=ada", "text/plain", 415),
    "1,001 form fields": ("&".join(f"f{n}=1" for n in range(1001)), "application/x-www-form-urlencoded", 400),
    "3 MB of JSON": (json.dumps({"username": "a" * 3 * 1024 * 1024, "password": "x"}), "application/json", 413),
}


@pytest.mark.parametrize("label", list(TOKEN_BODIES))
def test_junk_sent_to_the_token_endpoint_is_4xx_in_json(ada, label):
    body, content_type, expected = TOKEN_BODIES[label]
    response = APIClient().post("/api/auth/token/", body, content_type=content_type)
    assert response.status_code == expected, response.content[:300]
    answer = response.json()
    assert "token" not in answer
    report(TABLE, HEADER, f"POST /api/auth/token/: {label}", response.status_code, json.dumps(answer)[:110])


# --- query parameters and ids -----------------------------------------------------------------

QUERIES = {
    "/api/uploads/?page=abc": 400,
    "/api/uploads/?page=0": 400,
    "/api/uploads/?page=-1": 400,
    "/api/uploads/?page=1.5": 400,
    "/api/uploads/?page=%00": 400,
    "/api/uploads/?page=" + "9" * 30: 400,
    "/api/uploads/?page=99": 404,
    "/api/uploads/?page=last": 200,
    "/api/uploads/?page=": 200,
    "/api/uploads/?ocr_status=[]": 400,
    "/api/uploads/?ocr_status=%00": 400,
    "/api/uploads/?ocr_status[]=done": 200,  # an unknown parameter is ignored
    "/api/jobs/?status=[]": 400,
    "/api/jobs/?name=%00": 400,
    "/api/jobs/?queue=" + "q" * 10_000: 200,
    "/api/jobs/?page=abc": 400,
    "/api/uploads/99999999999999999999999/": 404,
    "/api/uploads/-1/": 404,
    "/api/jobs/%00/": 404,
    "/api/jobs/" + "j" * 5000 + "/": 404,
    "/uploads/99999999999999999999999/": 404,
    "/uploads/99999999999999999999999/file/": 404,
}


@pytest.mark.parametrize("path", list(QUERIES))
def test_wrong_query_parameters_and_ids_are_4xx(ada, api, path):
    response = api.get(path) if path.startswith("/api/") else _signed_in(ada).get(path)
    assert response.status_code == QUERIES[path], response.content[:300]
    shown = path if len(path) < 60 else f"{path[:40]}...({len(path)} chars)"
    answer = response.content.decode()[:110] if path.startswith("/api/") else "page"
    report(TABLE, HEADER, f"GET {shown}", response.status_code, answer if response.status_code != 200 else "ok")


def test_a_bad_page_number_says_what_a_page_number_is(api):
    assert api.get("/api/uploads/?page=abc").json() == {"page": ["A page number is a whole number from 1; got 'abc'."]}


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client
