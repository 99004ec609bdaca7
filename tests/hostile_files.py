"""Malformed, hostile and odd image files, made from bytes at run time (no binaries in the repository).

Each maker returns the bytes of one file; tests/test_hostile_uploads.py names them, says what the
validator must do with each, and sends them through the form and the API.
"""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

from .images import encode, png_claiming_size, render_text

__all__ = ["png_claiming_size"]


def text_image(text: str = "Hostile corpus") -> Image.Image:
    """A small page of text: big enough to be an image, small enough to keep the corpus fast."""
    return render_text(text, font_size=28, width=520)


def save(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def cut(data: bytes, share: float) -> bytes:
    """The first `share` of `data`: a file whose transfer stopped part way."""
    return data[: int(len(data) * share)]


def truncated(fmt: str) -> bytes:
    return cut(encode(text_image(), fmt), 0.6)


def frames(count: int, size: tuple[int, int] = (8, 8)) -> list[Image.Image]:
    # Alternating colours: Pillow's GIF writer merges identical neighbouring frames.
    return [Image.new("RGB", size, "black" if n % 2 else "white") for n in range(count)]


def animation(fmt: str, count: int, size: tuple[int, int] = (8, 8)) -> bytes:
    first, *rest = frames(count, size)
    if fmt == "GIF":
        first, rest = first.convert("P"), [f.convert("P") for f in rest]
    options = {"lossless": True} if fmt == "WEBP" else {}
    return save(first, fmt, save_all=True, append_images=rest, **options)


def gif_last_frame_cut() -> bytes:
    data = animation("GIF", 3, (64, 64))
    return data[:-12]  # into the LZW data of the last frame, past the trailer


# --- headers that claim a size the data does not have ----------------------------------------


def gif_claiming_size(width: int, height: int, *, frame: tuple[int, int] | None = None, count: int = 1) -> bytes:
    """A GIF whose logical screen is width x height, with `count` frames of size `frame` (default: the screen)."""
    frame_w, frame_h = frame or (width, height)
    screen = struct.pack("<HHBBB", width, height, 0x80, 0, 0)  # global colour table of 2 entries
    palette = b"\x00\x00\x00\xff\xff\xff"
    descriptor = b"\x2c" + struct.pack("<HHHHB", 0, 0, frame_w, frame_h, 0)
    lzw = b"\x02\x02\x44\x01\x00"  # minimum code size 2, one short sub-block, block terminator
    return b"GIF89a" + screen + palette + (descriptor + lzw) * count + b"\x3b"


def bmp_claiming_size(width: int, height: int) -> bytes:
    """A 24-bit BMP header claiming width x height, followed by a few bytes of pixels."""
    pixels = b"\0" * 64
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    header = b"BM" + struct.pack("<IHHI", 14 + len(info) + len(pixels), 0, 0, 14 + len(info))
    return header + info + pixels


def tiff_pages(pages: list[tuple[int, int]]) -> bytes:
    """A little-endian greyscale TIFF whose pages claim these sizes; each holds only 16 bytes of pixels."""
    entries = 8
    ifd_size = 2 + entries * 12 + 4
    out = bytearray(b"II*\x00" + struct.pack("<I", 8))
    offset = 8
    for n, (width, height) in enumerate(pages):
        strip_offset = offset + ifd_size
        next_ifd = 0 if n == len(pages) - 1 else strip_offset + 16
        tags = [
            (256, 4, 1, width),  # ImageWidth
            (257, 4, 1, height),  # ImageLength
            (258, 3, 1, 8),  # BitsPerSample
            (259, 3, 1, 1),  # Compression: none
            (262, 3, 1, 1),  # Photometric: black is zero
            (273, 4, 1, strip_offset),  # StripOffsets
            (278, 4, 1, height),  # RowsPerStrip
            (279, 4, 1, min(width * height, 2**32 - 1)),  # StripByteCounts: what the claimed size needs
        ]
        out += struct.pack("<H", entries)
        for tag, kind, count, value in tags:
            out += struct.pack("<HHII", tag, kind, count, value)
        out += struct.pack("<I", next_ifd)
        out += b"\x80" * 16
        offset = len(out)
    return bytes(out)


def jpeg_claiming_size(width: int, height: int) -> bytes:
    """A real small JPEG whose frame header (SOF0) is rewritten to claim width x height."""
    data = bytearray(save(Image.new("L", (16, 16), "white"), "JPEG"))
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def webp_claiming_size(width: int, height: int) -> bytes:
    """A real lossless WebP whose VP8L header is rewritten to claim width x height (at most 16384)."""
    data = bytearray(save(Image.new("RGB", (16, 16), "white"), "WEBP", lossless=True))
    vp8l = data.index(b"VP8L") + 8  # after the chunk header: the signature byte 0x2f, then the size
    bits = struct.unpack_from("<I", data, vp8l + 1)[0]
    bits = (bits & ~0x0FFFFFFF) | (width - 1) | ((height - 1) << 14)
    struct.pack_into("<I", data, vp8l + 1, bits)
    return bytes(data)


def webp_canvas(width: int, height: int, count: int) -> bytes:
    """An animated WebP of `count` small frames on a canvas rewritten to width x height."""
    data = bytearray(animation("WEBP", count))
    vp8x = data.index(b"VP8X") + 8  # flags (4 bytes), then canvas width-1 and height-1, 24 bits each
    data[vp8x + 4 : vp8x + 7] = (width - 1).to_bytes(3, "little")
    data[vp8x + 7 : vp8x + 10] = (height - 1).to_bytes(3, "little")
    return bytes(data)


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_with_text_bomb() -> bytes:
    """A valid PNG with a zTXt chunk that inflates to 50 MB (Pillow stops at 1 MB)."""
    png = encode(text_image(), "PNG")
    bomb = png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"\0" * 50_000_000, 9))
    return png[:33] + bomb + png[33:]  # after the signature and IHDR


# --- polyglots: a real image with something else after (or around) it -------------------------

HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>\n"
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
    b"<script>alert(document.domain)</script></svg>\n"
)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def zip_archive() -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload/run.sh", "#!/bin/sh\necho owned\n")
    return buffer.getvalue()


def with_tail(fmt: str, tail: bytes) -> bytes:
    return encode(text_image(), fmt) + tail


# --- odd but legitimate encodings --------------------------------------------------------------


def odd(kind: str, text: str = "Hostile corpus") -> bytes:
    """`text` rendered in an unusual mode or encoding that scanners and editors do produce."""
    page = text_image(text)
    grey = page.convert("L")
    makers = {
        "CMYK JPEG": lambda: save(page.convert("CMYK"), "JPEG", quality=95),
        "CMYK TIFF": lambda: save(page.convert("CMYK"), "TIFF"),
        "16-bit greyscale PNG": lambda: save(grey.convert("I").point(lambda v: v * 257).convert("I;16"), "PNG"),
        "16-bit greyscale TIFF": lambda: save(grey.convert("I").point(lambda v: v * 257).convert("I;16"), "TIFF"),
        "palette PNG with transparency": lambda: _palette_with_alpha(page),
        "greyscale+alpha PNG": lambda: save(_text_on_transparent(page).convert("LA"), "PNG"),
        "RGBA WebP": lambda: save(_text_on_transparent(page), "WEBP", lossless=True),
        "1-bit fax TIFF (G4)": lambda: save(
            grey.point(lambda v: 255 if v > 128 else 0).convert("1"), "TIFF", compression="group4"
        ),
        "1-bit BMP": lambda: save(grey.point(lambda v: 255 if v > 128 else 0).convert("1"), "BMP"),
        "interlaced PNG": lambda: _interlaced_png(page),
        "progressive JPEG": lambda: save(page, "JPEG", quality=90, progressive=True),
        "multi-picture JPEG (MPO)": lambda: save(page, "MPO", save_all=True, append_images=[page.rotate(180)]),
    }
    return makers[kind]()


ODD_KINDS = (
    "CMYK JPEG",
    "CMYK TIFF",
    "16-bit greyscale PNG",
    "16-bit greyscale TIFF",
    "palette PNG with transparency",
    "greyscale+alpha PNG",
    "RGBA WebP",
    "1-bit fax TIFF (G4)",
    "1-bit BMP",
    "interlaced PNG",
    "progressive JPEG",
    "multi-picture JPEG (MPO)",
)


def _text_on_transparent(page: Image.Image) -> Image.Image:
    """Black text on a fully transparent background: the alpha channel carries the page."""
    alpha = page.convert("L").point(lambda v: 255 - v)
    rgba = Image.new("RGBA", page.size, (0, 0, 0, 0))
    rgba.putalpha(alpha)
    return rgba


def _palette_with_alpha(page: Image.Image) -> bytes:
    palette = page.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    # The palette entry of the white background becomes transparent (a tRNS chunk).
    background = palette.getpixel((0, 0))
    return save(palette, "PNG", transparency=background)


def _interlaced_png(page: Image.Image) -> bytes:
    """Adam7-interlaced PNG; Pillow reads but does not write interlacing, so the IDAT is built here."""
    rgb = page.convert("RGB")
    width, height = rgb.size
    raw = rgb.tobytes()
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    scanlines = bytearray()
    for x0, y0, dx, dy in passes:
        for y in range(y0, height, dy):
            row = bytearray(b"\0")  # filter type: none
            for x in range(x0, width, dx):
                start = (y * width + x) * 3
                row += raw[start : start + 3]
            if len(row) > 1:
                scanlines += row
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 1)  # 8-bit RGB, interlace method 1
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(bytes(scanlines)))
        + png_chunk(b"IEND", b"")
    )
