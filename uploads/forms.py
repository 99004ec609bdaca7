"""The upload form: one field, `file`, checked by the shared image validator."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from .validators import ACCEPTED_FORMATS, ImageInfo, validate_image_upload

ONE_FILE_PLEASE = "Send one file at a time; this request has %(count)s."


class UploadForm(forms.Form):
    """Example:
    >>> form = UploadForm(request.POST, request.FILES, refusal=upload_refusal(request))
    >>> form.is_valid() and form.image_info.mime
    'image/png'
    """

    file = forms.FileField(
        help_text="PNG, JPEG, GIF, TIFF, WebP or BMP.",
        widget=forms.ClearableFileInput(
            attrs={"accept": ",".join(ext for exts in ACCEPTED_FORMATS.values() for ext in exts)}
        ),
    )

    image_info: ImageInfo | None = None

    def __init__(self, *args, refusal: ValidationError | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # An upload the size-limit handler stopped never reached FILES; say why instead of "required".
        self.refusal = refusal
        if refusal is not None:
            self.fields["file"].required = False

    def clean_file(self):
        if self.refusal is not None:
            raise self.refusal
        count = len(self.files.getlist(self.add_prefix("file")))
        if count > 1:
            raise ValidationError(ONE_FILE_PLEASE, code="several_files", params={"count": count})
        file = self.cleaned_data["file"]
        self.image_info = validate_image_upload(file)
        return file
