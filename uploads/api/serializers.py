"""DRF serializers for uploads; creation goes through the same validator as the form.

Example:
    >>> serializer = UploadCreateSerializer(data={"file": file}, context={"request": request})
    >>> serializer.is_valid(raise_exception=True); upload = serializer.save()
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..forms import ONE_FILE_PLEASE
from ..models import Upload
from ..services import create_upload
from ..validators import validate_image_upload


class UploadJobSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)


class UploadSerializer(serializers.ModelSerializer):
    job = UploadJobSerializer(source="ocr_job", read_only=True, allow_null=True)
    file_url = serializers.SerializerMethodField()

    class Meta:
        model = Upload
        fields = (
            "id",
            "object_key",
            "original_name",
            "mime",
            "size",
            "width",
            "height",
            "ocr_status",
            "ocr_text",
            "ocr_error",
            "job",
            "file_url",
            "created",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_file_url(self, upload: Upload) -> str:
        """Where the owner (or staff) downloads the image; it needs the same authentication."""
        return reverse("upload-file", args=[upload.pk])


class UploadCreateSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="PNG, JPEG, GIF, TIFF, WebP or BMP.")

    def validate_file(self, file):
        # `file` sent several times: refuse rather than silently keep the last one.
        files = getattr(self.initial_data, "getlist", lambda _: [file])("file")
        if len(files) > 1:
            raise serializers.ValidationError(ONE_FILE_PLEASE % {"count": len(files)}, code="several_files")
        self.image_info = validate_image_upload(file)
        return file

    def create(self, validated_data) -> Upload:
        return create_upload(owner=self.context["request"].user, file=validated_data["file"], info=self.image_info)
