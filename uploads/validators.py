"""One validator for every way an image arrives (the upload form and the API).

The type is read from the content with Pillow, never from the client's name or header; the
size and pixel count are capped before anything is decoded; the whole image is then decoded
once so truncated or corrupt files are refused here rather than in the OCR worker.

Example:
    >>> info = validate_image_upload(request.FILES["file"])
    >>> info.mime, info.width, info.height
    ('image/png', 800, 200)
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from PIL import Image, UnidentifiedImageError

# Formats that both Pillow and Tesseract (through Leptonica) read, with their accepted extensions.
ACCEPTED_FORMATS: dict[str, tuple[str, ...]] = {
    "PNG": (".png",),
    "JPEG": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "GIF": (".gif",),
    "TIFF": (".tif", ".tiff"),
    "WEBP": (".webp",),
    "BMP": (".bmp", ".dib"),
}
MIME_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "TIFF": "image/tiff",
              "WEBP": "image/webp", "BMP": "image/bmp"}  # fmt: skip
ACCEPTED_LIST = "PNG, JPEG, GIF, TIFF, WebP or BMP"


@dataclass(frozen=True)
class ImageInfo:
    """What the validator learned from the content."""

    format: str
    mime: str
    extension: str
    width: int
    height: int
    frames: int
    size: int


def validate_image_upload(file: IO[bytes], name: str | None = None) -> ImageInfo:
    """Return ImageInfo for an acceptable image, else raise ValidationError with a clear message."""
    name = name if name is not None else getattr(file, "name", "") or ""
    size = _size_of(file)
    max_bytes: int = settings.UPLOAD_MAX_BYTES
    if size == 0:
        raise ValidationError("The file is empty.", code="empty")
    if size > max_bytes:
        shown, limit = filesizeformat(size), filesizeformat(max_bytes)
        if shown == limit:  # "10.0 MB; the limit is 10.0 MB" would explain nothing
            shown, limit = f"{size:,} bytes", f"{max_bytes:,} bytes"
        raise ValidationError(
            "The file is %(size)s; the limit is %(limit)s.", code="too_large", params={"size": shown, "limit": limit}
        )

    file.seek(0)
    try:
        with warnings.catch_warnings():
            # Our own pixel cap below is stricter; Pillow's warning would only be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(file, formats=list(ACCEPTED_FORMATS))
    except Image.DecompressionBombError:
        raise _too_many_pixels(None) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise ValidationError(
            "This file is not an image we can read. Upload a %(accepted)s image.",
            code="not_an_image",
            params={"accepted": ACCEPTED_LIST},
        ) from None

    with image:
        fmt = image.format or ""
        width, height = image.size
        if width <= 0 or height <= 0:
            raise ValidationError("The image has no pixels.", code="no_pixels")
        _check_pixels(width, height)
        frames = getattr(image, "n_frames", 1)
        _check_frames(frames, width, height)
        _check_extension(name, fmt)
        try:
            image.load()  # decode everything once: truncated and corrupt data fail here
        except Exception:
            raise ValidationError(
                "The %(format)s image is damaged or incomplete and cannot be read.",
                code="corrupt",
                params={"format": fmt},
            ) from None
    file.seek(0)
    return ImageInfo(
        format=fmt,
        mime=MIME_TYPES[fmt],
        extension=ACCEPTED_FORMATS[fmt][0],
        width=width,
        height=height,
        frames=frames,
        size=size,
    )


def _size_of(file: IO[bytes]) -> int:
    size = getattr(file, "size", None)
    if size is None:
        file.seek(0, os.SEEK_END)
        size = file.tell()
    return int(size)


def _too_many_pixels(pixels: int | None) -> ValidationError:
    limit: int = settings.UPLOAD_MAX_PIXELS
    detail = f"{pixels:,} pixels" if pixels else "too many pixels"
    return ValidationError(
        "The image has %(detail)s; the limit is %(limit)s pixels.",
        code="too_many_pixels",
        params={"detail": detail, "limit": f"{limit:,}"},
    )


def _check_pixels(width: int, height: int) -> None:
    if width * height > settings.UPLOAD_MAX_PIXELS:
        raise _too_many_pixels(width * height)


def _check_frames(frames: int, width: int, height: int) -> None:
    # An animation multiplies the decoding work: cap the pixels over all frames too.
    if frames > 1 and frames * width * height > settings.UPLOAD_MAX_PIXELS:
        raise ValidationError(
            "The animation has %(frames)s frames of %(width)sx%(height)s; the limit is %(limit)s pixels in all.",
            code="too_many_frames",
            params={"frames": frames, "width": width, "height": height, "limit": f"{settings.UPLOAD_MAX_PIXELS:,}"},
        )


def _check_extension(name: str, fmt: str) -> None:
    extension = os.path.splitext(name)[1].lower()
    if extension and extension not in ACCEPTED_FORMATS[fmt]:
        raise ValidationError(
            "The file is named %(extension)s but its content is a %(format)s image. "
            "Rename it to %(expected)s or upload the right file.",
            code="extension_mismatch",
            params={"extension": extension, "format": fmt, "expected": ACCEPTED_FORMATS[fmt][0]},
        )
