"""Rows the admin tests look at, written straight to the database (no worker involved).

Example:
    >>> failed = make_job(status=JobStatus.FAILED, error_type="ValueError", enqueued_ago=timedelta(days=2))
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import Permission
from django.utils import timezone

from jobregistry import TERMINAL_STATUSES, JobRecord, JobStatus
from jobregistry.models import JobAttempt


def make_job(
    name: str = "test:echo",
    status: str = JobStatus.FINISHED,
    *,
    enqueued_ago: timedelta = timedelta(minutes=5),
    attempts: int | None = None,
    tries: tuple[tuple[str, str], ...] = (),
    **fields: Any,
) -> JobRecord:
    """A JobRecord in `status`, enqueued `enqueued_ago`; `tries` adds (outcome, error) attempt rows."""
    now = timezone.now()
    enqueued = now - enqueued_ago
    ran = status in {JobStatus.STARTED, JobStatus.RETRYING, JobStatus.FINISHED, JobStatus.FAILED}
    defaults: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "name": name,
        "status": status,
        "data": {"n": 1},
        "attempts": attempts if attempts is not None else (max(len(tries), 1) if ran else 0),
        "max_attempts": 3,
        "started_at": enqueued + timedelta(seconds=2) if ran else None,
        "finished_at": enqueued + timedelta(seconds=5) if status in TERMINAL_STATUSES else None,
        "progress": 100 if status == JobStatus.FINISHED else 0,
    }
    record = JobRecord.objects.create(**{**defaults, **fields})
    # enqueued_at is auto_now_add: move it afterwards.
    JobRecord.objects.filter(pk=record.pk).update(enqueued_at=enqueued)
    for number, (outcome, error) in enumerate(tries, start=1):
        started = enqueued + timedelta(seconds=number)
        JobAttempt.objects.create(
            record=record,
            number=number,
            outcome=outcome,
            started_at=started,
            finished_at=started + timedelta(milliseconds=400),
            worker_name="worker-a",
            error_type="ValueError" if error else "",
            error_message=error,
        )
    record.refresh_from_db()
    return record


def grant(user, *codenames: str):
    """Give `user` the named permissions (e.g. 'view_jobrecord') and return it with a fresh perm cache."""
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return type(user).objects.get(pk=user.pk)
