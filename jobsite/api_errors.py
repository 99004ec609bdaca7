"""The API's exception handler: DRF's, plus JSON answers for request bodies Django refuses.

Django raises RequestDataTooBig, TooManyFieldsSent and TooManyFilesSent while it reads a body;
outside DRF they become a bare "Bad Request (400)" page. Here they become 413 / 400 with a
`detail` that says which limit was hit, as every other API error does.

Example:
    POST /api/auth/token/ with a 3 MB JSON body  ->  413 {"detail": "The request body is larger than ..."}
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.template.defaultfilters import filesizeformat
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.views import exception_handler as drf_exception_handler


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def exception_handler(exc: Exception, context: dict):
    if isinstance(exc, RequestDataTooBig):
        limit = filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        exc = PayloadTooLarge(f"The request body is larger than {limit}, the limit for data other than files.")
    elif isinstance(exc, TooManyFilesSent):
        exc = ParseError(f"The request carries more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files.")
    elif isinstance(exc, TooManyFieldsSent):
        exc = ParseError(f"The request carries more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields.")
    return drf_exception_handler(exc, context)
