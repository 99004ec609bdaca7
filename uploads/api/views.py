"""The uploads API: create (multipart, field `file`), list your own, read, download, delete.

Another user's upload is a 404; staff may read and delete any upload by id.
"""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from ..models import OcrStatus, Upload
from ..services import delete_upload
from ..serving import file_response
from ..upload_handlers import upload_refusal
from .serializers import UploadCreateSerializer, UploadSerializer


class UploadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The upload is too large."
    default_code = "too_large"


class UploadFilter(django_filters.FilterSet):
    ocr_status = django_filters.ChoiceFilter(choices=OcrStatus.choices)

    class Meta:
        model = Upload
        fields = ("ocr_status",)


class UploadViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Your uploads, newest first; filter with ?ocr_status=done."""

    queryset = Upload.objects.none()  # for the schema generator; get_queryset() decides
    serializer_class = UploadSerializer
    filterset_class = UploadFilter
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[Upload]:
        uploads = Upload.objects.select_related("ocr_job").order_by("-created", "-pk")
        user = self.request.user
        if self.action == "list" or not user.is_staff:
            uploads = uploads.filter(owner=user)
        return uploads

    @extend_schema(
        request={"multipart/form-data": UploadCreateSerializer},
        responses={
            201: UploadSerializer,
            400: OpenApiResponse(description="The file is missing, sent more than once, or refused by the validator."),
            413: OpenApiResponse(description="The upload is over UPLOAD_MAX_BYTES; it was not read to the end."),
        },
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        """Upload an image; its text is read in the background when OCR is on."""
        serializer = UploadCreateSerializer(data=request.data, context=self.get_serializer_context())
        refusal = upload_refusal(request)  # request.data has parsed the body by now
        if refusal is not None:
            raise UploadTooLarge({"file": refusal.messages})
        serializer.is_valid(raise_exception=True)
        upload = serializer.save()
        body = UploadSerializer(upload, context=self.get_serializer_context()).data
        location = request.build_absolute_uri(f"{upload.pk}/")
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": location})

    def perform_destroy(self, instance: Upload) -> None:
        delete_upload(instance)

    @extend_schema(
        responses={(200, "image/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The image, as uploaded.")}
    )
    @action(detail=True, methods=["get"], url_path="file")
    def file(self, request: Request, *args, **kwargs) -> FileResponse:
        """Download the image; the same rules as the upload itself decide who may."""
        return file_response(self.get_object())
