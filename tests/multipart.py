"""Multipart bodies built by hand, so a test controls every byte the server parses.

Django's test client runs a file's name through os.path.basename() before it sends it; a hostile
client does no such thing. These bodies carry the name exactly as given.

Example:
    >>> body, content_type = multipart([("file", "../../x.png", png_bytes)])
    >>> client.post("/uploads/new/", body, content_type=content_type)
"""

from __future__ import annotations

BOUNDARY = "hostile-corpus-7b1f4c"


def multipart(files: list[tuple[str, str | bytes, bytes]], fields: dict[str, str] | None = None) -> tuple[bytes, str]:
    """A multipart/form-data body with `fields`, then each (field, file name, content) in `files`.

    A name given as bytes goes out exactly as is, quotes and line breaks included.
    """
    parts: list[bytes] = []
    for name, value in (fields or {}).items():
        parts.append(f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}'.encode())
    for field, file_name, content in files:
        raw_name = file_name if isinstance(file_name, bytes) else file_name.encode("utf-8")
        header = f'Content-Disposition: form-data; name="{field}"; filename="'.encode() + raw_name + b'"\r\n'
        parts.append(header + b"Content-Type: application/octet-stream\r\n\r\n" + content)
    delimiter = f"--{BOUNDARY}".encode()
    body = b"".join(delimiter + b"\r\n" + part + b"\r\n" for part in parts) + delimiter + b"--\r\n"
    return body, f"multipart/form-data; boundary={BOUNDARY}"
