"""What is in Django storage, for tests that prove a refused upload leaves nothing behind."""

from __future__ import annotations

from django.core.files.storage import default_storage


def stored_files(prefix: str = "uploads") -> set[str]:
    """Every key under `prefix` in default storage."""
    if not default_storage.exists(prefix):
        return set()
    found: set[str] = set()
    pending = [prefix]
    while pending:
        folder = pending.pop()
        dirs, files = default_storage.listdir(folder)
        found.update(f"{folder}/{name}" for name in files)
        pending.extend(f"{folder}/{name}" for name in dirs)
    return found
