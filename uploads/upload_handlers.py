"""Refuse an oversized upload while it arrives, before Django keeps its bytes in memory or on disk.

Django's own handlers keep a whole file (in memory, or in a temporary file past 2.5 MB) before
any view or validator sees it. This handler comes first in FILE_UPLOAD_HANDLERS and stops the
parse as soon as the request is known to carry more than UPLOAD_MAX_BYTES of files:

- a declared Content-Length beyond UPLOAD_MAX_BYTES plus DATA_UPLOAD_MAX_MEMORY_SIZE (Django's
  allowance for the other fields) is refused when the first file starts, without reading it;
- otherwise the file bytes are counted as they arrive, over all files of the request, and the
  chunk that crosses the limit is never passed on.

The fields read before the file (the CSRF token comes first in our form) are kept, so the view
runs and answers with a clear message: it asks `upload_refusal(request)`.

Example:
    >>> form = UploadForm(request.POST, request.FILES, refusal=upload_refusal(request))
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat

_REFUSAL_ATTRIBUTE = "_upload_refusal"


def upload_refusal(request: HttpRequest) -> ValidationError | None:
    """Why UploadSizeLimitHandler stopped this request's upload, or None. Read request.POST/FILES first."""
    return getattr(request, _REFUSAL_ATTRIBUTE, None)


class UploadSizeLimitHandler(FileUploadHandler):
    """Stops a multipart parse that carries more than UPLOAD_MAX_BYTES of file data."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None) -> None:
        self.limit: int = settings.UPLOAD_MAX_BYTES
        allowance = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
        self.declared = content_length
        self.declared_too_large = content_length > self.limit + allowance
        self.received = 0
        return None  # the normal parser carries on

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        if self.declared_too_large:
            self._refuse(
                "The upload is %(size)s; the limit is %(limit)s.",
                {"size": filesizeformat(self.declared), "limit": filesizeformat(self.limit)},
            )
            # Nothing of the body is worth reading: stop here and let the server close the connection.
            raise StopUpload(connection_reset=True)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            self._refuse("The file is larger than %(limit)s, the limit.", {"limit": filesizeformat(self.limit)})
            # At most DATA_UPLOAD_MAX_MEMORY_SIZE is left (see handle_raw_input): read and drop it,
            # so the client gets the answer on a connection still in order.
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler builds the file

    def _refuse(self, message: str, params: dict) -> None:
        setattr(self.request, _REFUSAL_ATTRIBUTE, ValidationError(message, code="too_large", params=params))
