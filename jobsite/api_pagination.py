"""The API's pagination: DRF's page numbers, with a malformed ?page= refused as a 400.

DRF answers ?page=abc with 404 "Invalid page."; a page that is not a number is a bad request,
while a page past the end stays a 404.

Example:
    GET /api/uploads/?page=abc  ->  400 {"page": ["A page number is a whole number from 1; got 'abc'."]}
    GET /api/uploads/?page=99   ->  404 {"detail": "Invalid page."}
"""

from __future__ import annotations

import re

from rest_framework import pagination
from rest_framework.exceptions import ValidationError

_PAGE_NUMBER = re.compile(r"^[1-9][0-9]{0,17}$")  # beyond 18 digits, no queryset has that many pages


class PageNumberPagination(pagination.PageNumberPagination):
    def get_page_number(self, request, paginator) -> str:
        number = super().get_page_number(request, paginator)
        given = self.page_query_param in request.query_params
        if given and number not in self.last_page_strings and not _PAGE_NUMBER.match(str(number)):
            raise ValidationError(
                {self.page_query_param: [f"A page number is a whole number from 1; got {str(number)[:40]!r}."]}
            )
        return number
