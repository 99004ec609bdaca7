"""The upload form: one field, `file`, checked by the shared image validator."""

from __future__ import annotations

from django import forms

from .validators import ACCEPTED_FORMATS, ImageInfo, validate_image_upload


class UploadForm(forms.Form):
    file = forms.FileField(
        help_text="PNG, JPEG, GIF, TIFF, WebP or BMP.",
        widget=forms.ClearableFileInput(
            attrs={"accept": ",".join(ext for exts in ACCEPTED_FORMATS.values() for ext in exts)}
        ),
    )

    image_info: ImageInfo | None = None

    def clean_file(self):
        file = self.cleaned_data["file"]
        self.image_info = validate_image_upload(file)
        return file
