"""Job names for Django Tasks: a task's dotted path becomes a `tasks:<...>` job name.

The name comes from the function's module path alone, so the web process and every worker
agree on it without the user writing one, and it stays the same while the function stays put.
A plain path (lowercase letters, digits, `_`) maps one to one: dots become dashes, which no
Python identifier contains. Any other path (capitals, non-ASCII, too long) is shortened and
ends with a hash of the exact path, so it stays unique.

Example:
    >>> job_name_for_path("billing.tasks.send_invoice")
    'tasks:billing-tasks-send_invoice'
    >>> job_name_for_path("billing.tasks.SendInvoice")
    'tasks:billing-tasks-sendinvoice-af17439bff'
"""

from __future__ import annotations

import hashlib
import re
import threading

from django_tasks.exceptions import InvalidTaskError

TASK_FEATURE = "tasks"
NAME_MAX = 100  # JobRecord.name's max_length (a test keeps the two equal)
HASH_CHARS = 10

_PLAIN_PATH = re.compile(r"[a-z0-9_]+(?:\.[a-z0-9_]+)*")
_NOT_NAME_CHARS = re.compile(r"[^a-z0-9_-]+")

_claimed: dict[str, str] = {}
_claim_lock = threading.Lock()


def job_name_for_path(path: str) -> str:
    """The `<feature>:<action>` job name of the task whose function lives at `path`."""
    prefix = f"{TASK_FEATURE}:"
    if _PLAIN_PATH.fullmatch(path) and len(prefix) + len(path) <= NAME_MAX:
        return prefix + path.replace(".", "-")
    digest = hashlib.sha256(path.encode()).hexdigest()[:HASH_CHARS]
    readable = _NOT_NAME_CHARS.sub("_", path.replace(".", "-").lower()).strip("-_")
    # Keep the end of the path: the function's name says more than the package it sits in.
    room = NAME_MAX - len(prefix) - len(digest) - 1
    readable = readable[-room:].lstrip("-_") if readable else ""
    return f"{prefix}{readable}-{digest}" if readable else prefix + digest


def is_task_job_name(name: str) -> bool:
    """True for names in the feature this module hands out (`tasks:...`)."""
    return name.startswith(f"{TASK_FEATURE}:")


def claim_job_name(path: str) -> str:
    """Return the job name for `path`, refusing one that another task path already holds.

    Plain paths never collide; this guards the hashed ones, and says which two tasks clash.
    """
    name = job_name_for_path(path)
    with _claim_lock:
        owner = _claimed.setdefault(name, path)
    if owner != path:
        raise InvalidTaskError(
            f"Tasks {owner} and {path} both map to the job name {name!r}; rename or move one of them."
        )
    return name
