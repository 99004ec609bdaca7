"""One validator for every way an image arrives (the upload form and the API).

The type is read from the content with Pillow, never from the client's name or header; the
size and pixel count are capped before anything is decoded; every frame (page) is then decoded
once, within a pixel budget and a frame cap over all of them, so truncated, corrupt or
bomb-shaped files are refused here rather than in the OCR worker. Whatever Pillow makes of
hostile bytes ends as a ValidationError with a message, never as a server error.

Example:
    >>> info = validate_image_upload(request.FILES["file"])
    >>> info.mime, info.width, info.height
    ('image/png', 800, 200)
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from PIL import Image

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
# Pillow's JPEG opener answers "MPO" for a JPEG with more pictures after the first (as cameras
# write them); to a browser and to Tesseract it is a JPEG.
_SAME_AS = {"MPO": "JPEG"}

logger = logging.getLogger(__name__)


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
    _check_size(size)

    file.seek(0)
    with warnings.catch_warnings():
        # Our own pixel cap is stricter than Pillow's bomb warning, and Pillow's UserWarnings
        # (corrupt EXIF and the like) are about the client's bytes, which we accept or refuse here.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        warnings.simplefilter("ignore", UserWarning)
        image = _open(file)
        with image:
            fmt = _SAME_AS.get(image.format or "", image.format or "")
            if fmt not in ACCEPTED_FORMATS:  # Image.open(formats=...) should make this impossible
                raise _not_an_image()
            width, height = image.size
            if width <= 0 or height <= 0:
                raise ValidationError("The image has no pixels.", code="no_pixels")
            _check_pixels(width * height)
            _check_extension(name, fmt)
            frames = _decode_every_frame(image, fmt)
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


def _check_size(size: int) -> None:
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


def _open(file: IO[bytes]) -> Image.Image:
    try:
        return Image.open(file, formats=list(ACCEPTED_FORMATS))
    except Image.DecompressionBombError:
        raise _too_many_pixels(None) from None
    except Exception as exc:
        # Whatever a parser makes of hostile bytes is a refusal, never a server error.
        logger.info("upload refused: Pillow cannot open it (%s: %s)", type(exc).__name__, exc)
        raise _not_an_image() from None


def _decode_every_frame(image: Image.Image, fmt: str) -> int:
    """Decode each frame (page) in turn and return how many there are.

    Truncated or corrupt data in any frame fails here rather than in the OCR worker. Before a
    frame is decoded its pixels join the running total, so an animation or a multi-page TIFF
    with huge or countless frames is refused before the work is done; n_frames is not asked
    first because finding it means walking every frame of a GIF or TIFF.
    """
    max_frames: int = settings.UPLOAD_MAX_FRAMES
    pixels = 0
    frame = 0
    while True:
        width, height = image.size  # a TIFF page, or a GIF frame past its screen, has its own size
        pixels += width * height
        if pixels > settings.UPLOAD_MAX_PIXELS:
            raise _too_many_pixels(pixels) if frame == 0 else _frames_too_many_pixels(frame + 1, pixels)
        try:
            image.load()
        except Exception as exc:
            logger.info("upload refused: frame %s does not decode (%s: %s)", frame, type(exc).__name__, exc)
            raise _damaged(fmt, frame) from None
        frame += 1
        try:
            image.seek(frame)
        except EOFError:
            return frame
        except Exception as exc:
            logger.info("upload refused: frame %s cannot be reached (%s: %s)", frame, type(exc).__name__, exc)
            raise _damaged(fmt, frame) from None
        if frame >= max_frames:
            raise ValidationError(
                "The image has more than %(limit)s frames or pages; the limit is %(limit)s.",
                code="too_many_frames",
                params={"limit": max_frames},
            )


def _not_an_image() -> ValidationError:
    return ValidationError(
        "This file is not an image we can read. Upload a %(accepted)s image.",
        code="not_an_image",
        params={"accepted": ACCEPTED_LIST},
    )


def _damaged(fmt: str, frame: int) -> ValidationError:
    where = "" if frame == 0 else f" (frame {frame + 1})"
    return ValidationError(
        "The %(format)s image is damaged or incomplete and cannot be read%(where)s.",
        code="corrupt",
        params={"format": fmt, "where": where},
    )


def _too_many_pixels(pixels: int | None) -> ValidationError:
    limit: int = settings.UPLOAD_MAX_PIXELS
    detail = f"{pixels:,} pixels" if pixels else "too many pixels"
    return ValidationError(
        "The image has %(detail)s; the limit is %(limit)s pixels.",
        code="too_many_pixels",
        params={"detail": detail, "limit": f"{limit:,}"},
    )


def _frames_too_many_pixels(frames: int, pixels: int) -> ValidationError:
    return ValidationError(
        "The first %(frames)s frames of the image have %(pixels)s pixels; the limit is %(limit)s pixels in all.",
        code="too_many_pixels",
        params={"frames": frames, "pixels": f"{pixels:,}", "limit": f"{settings.UPLOAD_MAX_PIXELS:,}"},
    )


def _check_pixels(pixels: int) -> None:
    if pixels > settings.UPLOAD_MAX_PIXELS:
        raise _too_many_pixels(pixels)


def _check_extension(name: str, fmt: str) -> None:
    extension = os.path.splitext(name)[1].lower()
    if extension and extension not in ACCEPTED_FORMATS[fmt]:
        shown = extension if len(extension) <= 20 else f"{extension[:20]}…"
        raise ValidationError(
            "The file is named %(extension)s but its content is a %(format)s image. "
            "Rename it to %(expected)s or upload the right file.",
            code="extension_mismatch",
            params={"extension": shown, "format": fmt, "expected": ACCEPTED_FORMATS[fmt][0]},
        )
