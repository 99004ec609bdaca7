"""Serving an uploaded file: to pages and to the API alike, always with the same safety headers.

Example:
    >>> return file_response(upload)   # after the caller has checked who may see it
"""

from __future__ import annotations

from django.http import FileResponse, Http404

from .models import Upload

# The bytes are the client's: an image that decodes may still carry HTML, script or an archive
# after its last pixel (a polyglot). The browser must only ever treat them as the detected image
# type: no sniffing, and a sandbox with no rights if opened directly.
FILE_HEADERS = {
    "Content-Disposition": "inline",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "private, max-age=3600",
}


def file_response(upload: Upload) -> FileResponse:
    """The upload's bytes from Django storage, typed by the detected mime; 404 if the file is gone."""
    try:
        handle = upload.file.storage.open(upload.object_key, "rb")
    except FileNotFoundError:
        raise Http404("The file is missing from storage.") from None
    response = FileResponse(handle, content_type=upload.mime)
    for header, value in FILE_HEADERS.items():
        response[header] = value
    return response
