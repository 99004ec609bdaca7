"""A corpus of malformed, hostile and odd files, sent through the upload form and POST /api/uploads/.

Every file is made from bytes at run time (tests/hostile_files.py) and sent in a multipart body
built by hand (tests/multipart.py), so names with path separators, NUL or line breaks reach the
server exactly as a hostile client would send them. For each case and each way in:

- a refusal is a 200 form page / 400 API answer with the expected message, and stores nothing:
  no row, no file in storage;
- an acceptance stores the bytes as sent under a generated key, and the file is served only as
  the detected image type, with nosniff and a no-rights sandbox (polyglots are accepted when the
  image decodes: see README, "Hostile files");
- nothing is ever a 500.

The outcome of every case is printed as a table at the end of the run.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from uploads.models import Upload

from . import hostile_files as h
from .images import encode
from .multipart import multipart
from .reporting import report
from .storage import stored_files

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_ocr")]

TABLE = "Hostile upload corpus: form (POST /uploads/new/) and API (POST /api/uploads/)"
HEADER = ("case", "form", "API", "message, or what was stored and served")

NOT_AN_IMAGE = "This file is not an image we can read. Upload a PNG, JPEG, GIF, TIFF, WebP or BMP image."
TOO_MANY_PIXELS = "The image has too many pixels; the limit is 40,000,000 pixels."
TOO_MANY_FRAMES = "The image has more than 100 frames or pages; the limit is 100."
NO_FILE = ("This field is required.", "No file was submitted.")  # what Django's form and DRF say
BAD_REQUEST_PAGE = "The server could not read this request."  # jobsite/templates/400.html


def damaged(fmt: str, where: str = "") -> str:
    return f"The {fmt} image is damaged or incomplete and cannot be read{where}."


def named(extension: str, fmt: str, expected: str) -> str:
    return (
        f"The file is named {extension} but its content is a {fmt} image. "
        f"Rename it to {expected} or upload the right file."
    )


@functools.cache
def png() -> bytes:
    return encode(h.text_image(), "PNG")


@dataclass(frozen=True)
class Case:
    label: str
    make: Callable[[], bytes]
    name: str | bytes = "upload"
    # A refusal: the message, or (form message, API message) where Django and DRF word it differently.
    refused: str | tuple[str, str] | None = None
    # An acceptance: the detected mime and the name kept for display.
    mime: str | None = None
    shown_name: str | None = None
    # Refused by Django's multipart parser before any view runs: the 400 page / a 400 {"detail": refused}.
    unparsable: bool = False

    def data(self) -> bytes:
        return _data(self.make)

    def message(self, route: str) -> str:
        assert self.refused is not None
        return self.refused if isinstance(self.refused, str) else self.refused[route == "api"]


@functools.cache
def _data(make: Callable[[], bytes]) -> bytes:
    return make()


def accepted(label, make, mime, name="upload", shown=None) -> Case:
    return Case(label, make, name=name, mime=mime, shown_name=shown if shown is not None else name)


def refused(label, make, message, name="upload") -> Case:
    return Case(label, make, name=name, refused=message)


def unparsable(label, make, detail, name="upload") -> Case:
    return Case(label, make, name=name, refused=detail, unparsable=True)


CORPUS: list[Case] = [
    # Truncated files of every accepted format, and empty ones.
    refused("PNG cut at 60%", lambda: h.truncated("PNG"), damaged("PNG"), "scan.png"),
    refused("PNG, signature and IHDR only", lambda: png()[:33], NOT_AN_IMAGE, "scan.png"),
    refused("JPEG cut at 60%", lambda: h.truncated("JPEG"), damaged("JPEG"), "scan.jpg"),
    refused("JPEG without its end marker", lambda: encode(h.text_image(), "JPEG")[:-2], damaged("JPEG"), "scan.jpg"),
    refused("GIF cut at 60%", lambda: h.truncated("GIF"), damaged("GIF"), "scan.gif"),
    refused("animated GIF, last frame cut", h.gif_last_frame_cut, damaged("GIF", " (frame 3)"), "anim.gif"),
    refused("TIFF cut at 60%", lambda: h.truncated("TIFF"), damaged("TIFF"), "scan.tiff"),
    refused("WebP cut at 60%", lambda: h.truncated("WEBP"), NOT_AN_IMAGE, "scan.webp"),
    refused("BMP cut at 60%", lambda: h.truncated("BMP"), damaged("BMP"), "scan.bmp"),
    refused("zero bytes", lambda: b"", "The submitted file is empty.", "empty.png"),
    # Polyglots: an image that decodes, with something else after it, is accepted and served as the image.
    accepted("GIF + HTML/JS after its trailer", lambda: h.with_tail("GIF", h.HTML), "image/gif", "poly.gif"),
    accepted("PNG + ZIP archive appended", lambda: h.with_tail("PNG", h.zip_archive()), "image/png", "poly.png"),
    accepted("JPEG + ZIP archive appended", lambda: h.with_tail("JPEG", h.zip_archive()), "image/jpeg", "poly.jpg"),
    accepted("PNG + PDF appended", lambda: h.with_tail("PNG", h.PDF), "image/png", "poly.png"),
    # ... but a file that only starts like an image, or is another type under an image's name, is not.
    refused("GIF89a signature, then HTML", lambda: b"GIF89a" + h.HTML, NOT_AN_IMAGE, "fake.gif"),
    refused("SVG with script, named .png", lambda: h.SVG, NOT_AN_IMAGE, "logo.png"),
    refused("SVG with script, named .svg", lambda: h.SVG, NOT_AN_IMAGE, "logo.svg"),
    refused("HTML named .jpg", lambda: h.HTML, NOT_AN_IMAGE, "photo.jpg"),
    refused("ZIP archive named .png", h.zip_archive, NOT_AN_IMAGE, "photo.png"),
    refused("PDF named .png", lambda: h.PDF, NOT_AN_IMAGE, "doc.png"),
    refused("PNG with a zTXt chunk inflating to 50 MB", h.png_with_text_bomb, NOT_AN_IMAGE, "text-bomb.png"),
    # Decompression bombs: headers that claim far more pixels than the bytes hold.
    refused("PNG claiming 100,000x100,000", lambda: h.png_claiming_size(100_000, 100_000), TOO_MANY_PIXELS),
    refused("GIF claiming 65,535x65,535", lambda: h.gif_claiming_size(65_535, 65_535), TOO_MANY_PIXELS),
    refused("TIFF claiming 100,000x100,000", lambda: h.tiff_pages([(100_000, 100_000)]), TOO_MANY_PIXELS),
    refused("WebP claiming 16,384x16,384", lambda: h.webp_claiming_size(16_384, 16_384), TOO_MANY_PIXELS),
    refused("BMP claiming 100,000x100,000", lambda: h.bmp_claiming_size(100_000, 100_000), TOO_MANY_PIXELS),
    refused("JPEG claiming 65,500x65,500", lambda: h.jpeg_claiming_size(65_500, 65_500), TOO_MANY_PIXELS),
    refused(
        "JPEG claiming 7,000x7,000 (under Pillow's own cap)",
        lambda: h.jpeg_claiming_size(7_000, 7_000),
        "The image has 49,000,000 pixels; the limit is 40,000,000 pixels.",
    ),
    # Animated bombs and many-page files.
    refused("GIF, 101 frames", lambda: h.animation("GIF", 101), TOO_MANY_FRAMES, "anim.gif"),
    refused("WebP, 101 frames", lambda: h.animation("WEBP", 101), TOO_MANY_FRAMES, "anim.webp"),
    refused("APNG, 101 frames", lambda: h.animation("PNG", 101), TOO_MANY_FRAMES, "anim.png"),
    refused("TIFF, 101 pages", lambda: h.animation("TIFF", 101), TOO_MANY_FRAMES, "pages.tiff"),
    refused(
        "GIF, 5,000x5,000 screen, 2 frames",
        lambda: h.gif_claiming_size(5_000, 5_000, frame=(1, 1), count=2),
        "The first 2 frames of the image have 50,000,000 pixels; the limit is 40,000,000 pixels in all.",
    ),
    refused(
        "GIF frame of 20,000x20,000 on a 10x10 screen",
        lambda: h.gif_claiming_size(10, 10, frame=(20_000, 20_000)),
        TOO_MANY_PIXELS,
    ),
    refused(
        "WebP, 4,000x4,000 canvas, 3 frames",
        lambda: h.webp_canvas(4_000, 4_000, 3),
        "The first 3 frames of the image have 48,000,000 pixels; the limit is 40,000,000 pixels in all.",
    ),
    refused(
        "TIFF, page 2 claims 100,000x100,000",
        lambda: h.tiff_pages([(4, 4), (100_000, 100_000)]),
        "The first 2 frames of the image have 10,000,000,016 pixels; the limit is 40,000,000 pixels in all.",
    ),
    accepted("TIFF, 5 pages", lambda: h.animation("TIFF", 5), "image/tiff", "pages.tiff"),
    accepted("animated GIF, 3 frames", lambda: h.animation("GIF", 3), "image/gif", "anim.gif"),
    # File names: the stored key is always generated; the name is cleaned for display.
    accepted("name ../../etc/passwd.png", png, "image/png", "../../etc/passwd.png", "passwd.png"),
    accepted("name ..\\..\\windows\\win.ini.png", png, "image/png", "..\\..\\windows\\win.ini.png", "win.ini.png"),
    accepted("name /etc/passwd (no extension)", png, "image/png", "/etc/passwd", "passwd"),
    refused("name ..", png, NO_FILE, ".."),
    # An empty file name makes the part a plain field: no file for the form, a string for the API.
    refused(
        "empty name", png, (NO_FILE[0], "The submitted data was not a file. Check the encoding type on the form."), ""
    ),
    accepted("name with NUL: a\\0b.png", png, "image/png", "a\x00b.png", "ab.png"),
    refused("name scan.png\\0.html (NUL)", png, named(".html", "PNG", ".png"), "scan.png\x00.html"),
    accepted("name with ESC, BEL, DEL", png, "image/png", "\x1b[2J\x07bell\x7f.png", "[2Jbell.png"),
    # The line break ends the part's headers early: what follows, the rest of the name included, is the content.
    refused("name with CR LF inside", png, NOT_AN_IMAGE, b"a\r\nContent-Type: text/html\r\n\r\nb.png"),
    refused("RTL override: invoice\\u202egnp.exe", png, named(".exe", "PNG", ".png"), "invoice\u202egnp.exe"),
    accepted("name of 255 characters", png, "image/png", "n" * 251 + ".png"),
    accepted("name of 600 characters (Django keeps 255)", png, "image/png", "n" * 596 + ".png", "n" * 251 + ".png"),
    # Django keeps the last 255 characters of an over-long extension: ".xxx...", a name with no extension.
    accepted("extension of 300 characters", png, "image/png", "a." + "x" * 300, "." + "x" * 254),
    unparsable(
        "name of 1,000 characters",
        png,
        "Multipart form parse error - Request max total header size exceeded.",
        "n" * 996 + ".png",
    ),
    accepted("unicode name", png, "image/png", "Счёт №5 — 文字 📄.png", "Счёт №5 — 文字 📄.png"),
    accepted(
        "HTML in the name", png, "image/png", "<img src=x onerror=alert(1)>.png", "<img src=x onerror=alert(1)>.png"
    ),
    # Extensions that contradict the content.
    refused("JPEG named .png", lambda: encode(h.text_image(), "JPEG"), named(".png", "JPEG", ".jpg"), "photo.png"),
    refused("PNG named .jpg", png, named(".jpg", "PNG", ".png"), "photo.jpg"),
    refused("WebP named .gif", lambda: encode(h.text_image(), "WEBP"), named(".gif", "WEBP", ".webp"), "a.gif"),
    refused("PNG named photo.png.php", png, named(".php", "PNG", ".png"), "photo.png.php"),
    refused("PNG named page.html", png, named(".html", "PNG", ".png"), "page.html"),
    accepted("PNG named SCAN.PNG", png, "image/png", "SCAN.PNG"),
    # Odd but legitimate encodings (test_odd_images_are_read_by_tesseract proves OCR reads them).
    *[
        accepted(kind, functools.partial(h.odd, kind), mime, f"odd{extension}")
        for kind, mime, extension in [
            ("CMYK JPEG", "image/jpeg", ".jpg"),
            ("CMYK TIFF", "image/tiff", ".tif"),
            ("16-bit greyscale PNG", "image/png", ".png"),
            ("16-bit greyscale TIFF", "image/tiff", ".tif"),
            ("palette PNG with transparency", "image/png", ".png"),
            ("greyscale+alpha PNG", "image/png", ".png"),
            ("RGBA WebP", "image/webp", ".webp"),
            ("1-bit fax TIFF (G4)", "image/tiff", ".tif"),
            ("1-bit BMP", "image/bmp", ".bmp"),
            ("interlaced PNG", "image/png", ".png"),
            ("progressive JPEG", "image/jpeg", ".jpg"),
            ("multi-picture JPEG (MPO)", "image/jpeg", ".jpg"),
        ]
    ],
]


@pytest.fixture
def no_ocr():
    # The corpus is about the way in; OCR of the odd images is proved in-process below.
    with override_settings(OCR_ENABLED=False):
        yield


@pytest.fixture
def ada(django_user_model):
    return django_user_model.objects.create_user("ada", password="pw-ada-123")


def post(route: str, user, case: Case):
    body, content_type = multipart([("file", case.name, case.data())])
    if route == "form":
        from django.test import Client

        client = Client()
        client.force_login(user)
        return client.post("/uploads/new/", body, content_type=content_type)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client.post("/api/uploads/", body, content_type=content_type)


def test_the_corpus_covers_what_the_brief_asks_for():
    labels = " ".join(case.label for case in CORPUS)
    for fmt in ("PNG", "JPEG", "GIF", "TIFF", "WebP", "BMP"):
        assert f"{fmt} cut at 60%" in labels, fmt
        assert f"{fmt} claiming" in labels, fmt
    assert len({case.label for case in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("route", ["form", "api"])
@pytest.mark.parametrize("case", CORPUS, ids=[case.label for case in CORPUS])
def test_hostile_file(case: Case, route: str, ada, client):
    before = stored_files()
    response = post(route, ada, case)
    column = 1 if route == "form" else 2

    assert response.status_code < 500, response.content[:500]
    if case.unparsable:
        assert response.status_code == 400
        if route == "form":
            assert BAD_REQUEST_PAGE in response.content.decode()
        else:
            assert response.json() == {"detail": case.refused}
        assert Upload.objects.count() == 0
        assert stored_files() == before
        report(TABLE, HEADER, case.label, "400 bad request", column=column)
        report(TABLE, HEADER, case.label, f"form: the 400 page; API: {case.refused}", column=3)
        return
    if case.refused is not None:
        message = case.message(route)
        if route == "form":
            assert response.status_code == 200  # the form again, with the message
            page = response.content.decode()
            assert f"<li>{_html_escape(message)}</li>" in page, page[:3000]
        else:
            assert response.status_code == 400
            assert response.json() == {"file": [message]}
        assert Upload.objects.count() == 0
        assert stored_files() == before
        report(TABLE, HEADER, case.label, f"{response.status_code} refused", column=column)
        report(TABLE, HEADER, case.label, " / ".join(dict.fromkeys(case.message(r) for r in ("form", "api"))), column=3)
        return

    if route == "form":
        assert response.status_code == 302, response.content.decode()[:2000]
    else:
        assert response.status_code == 201, response.content[:2000]
    upload = Upload.objects.get()
    assert upload.mime == case.mime
    assert upload.original_name == case.shown_name
    assert upload.object_key.startswith("uploads/") and "/.." not in upload.object_key
    assert stored_files() == before | {upload.object_key}
    with upload.file.open("rb") as handle:
        assert handle.read() == case.data()  # stored as sent, not re-encoded

    client.force_login(ada)
    served = client.get(f"/uploads/{upload.pk}/file/")
    assert served.status_code == 200
    assert served["Content-Type"] == case.mime
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert b"".join(served.streaming_content) == case.data()
    page = client.get(f"/uploads/{upload.pk}/").content.decode()
    assert _html_escape(case.shown_name) in page  # shown, escaped
    report(TABLE, HEADER, case.label, f"{response.status_code} accepted", column=column)
    shown = case.shown_name if len(case.shown_name) < 40 else f"{case.shown_name[:20]}...({len(case.shown_name)})"
    report(
        TABLE, HEADER, case.label, f"stored as sent, served {case.mime} + nosniff + sandbox; name {shown!r}", column=3
    )


def _html_escape(text: str) -> str:
    from django.utils.html import escape

    return escape(text)
