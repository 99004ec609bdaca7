"""Images the tests make: rendered sentences for OCR, and broken files for the validator."""

from __future__ import annotations

import io
import struct
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw, ImageFont

DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
SENTENCE = "The quick brown fox jumps over the lazy dog while five wizards judge the boxing match"

# Pillow's format name and the file extension for each format the tests upload.
FORMATS = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "TIFF": ".tiff", "WEBP": ".webp", "BMP": ".bmp"}


def render_text(text: str = SENTENCE, *, font_size: int = 32, width: int = 1400) -> Image.Image:
    """Black DejaVu text on white, wrapped to `width` pixels, as a scanned page would look."""
    font = ImageFont.truetype(DEJAVU, font_size)
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") < width - 80:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    line_height = int(font_size * 1.5)
    image = Image.new("RGB", (width, 80 + line_height * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    for n, line in enumerate(lines):
        draw.text((40, 40 + n * line_height), line, fill="black", font=font)
    return image


def encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(buffer, "JPEG", quality=90)
    elif fmt == "WEBP":
        image.save(buffer, "WEBP", lossless=True)
    else:
        image.save(buffer, fmt)
    return buffer.getvalue()


def image_file(fmt: str = "PNG", text: str = SENTENCE, name: str | None = None) -> SimpleUploadedFile:
    """An upload of `text` rendered in `fmt`, named with that format's extension unless `name` is given."""
    return SimpleUploadedFile(name or f"sentence{FORMATS[fmt]}", encode(render_text(text), fmt))


def blank_image_file() -> SimpleUploadedFile:
    return SimpleUploadedFile("blank.png", encode(Image.new("RGB", (400, 200), "white"), "PNG"))


def png_claiming_size(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG header that claims width x height pixels: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def words(text: str) -> list[str]:
    return [w.strip(".,;:!?\"'").lower() for w in text.split() if w.strip(".,;:!?\"'")]


def word_match(expected: str, actual: str) -> float:
    """Share of words that match, in order (1.0 is a perfect read)."""
    from difflib import SequenceMatcher

    return SequenceMatcher(a=words(expected), b=words(actual), autojunk=False).ratio()
