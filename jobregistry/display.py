"""How a job record reads in the admin: status badges, progress bars, durations, pretty JSON.

Pure functions of a record's values (no queries), so the change list can call them for every row.
The CSS classes they use live in static/jobregistry/admin.css.

Example:
    >>> format_duration(timedelta(seconds=75))
    '1 min 15 s'
    >>> status_badge("failed", "failed")
    '<span class="jr-badge jr-status-failed">failed</span>'
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from .models import TERMINAL_STATUSES, JobRecord

EMPTY = "-"


def status_badge(status: str, label: str | None = None) -> SafeString:
    """A coloured pill for `status`; the colour comes from the `jr-status-<status>` class."""
    return format_html('<span class="jr-badge jr-status-{}">{}</span>', status, label or status)


def progress_bar(percent: int, message: str = "") -> SafeString:
    """A native <progress> bar with the percentage and the processor's latest message."""
    percent = max(0, min(100, int(percent)))
    return format_html(
        '<span class="jr-progress" title="{}"><progress max="100" value="{}">{}%</progress>'
        '<span class="jr-progress-text">{}%{}</span></span>',
        message or f"{percent}%",
        percent,
        percent,
        percent,
        format_html(' <span class="jr-progress-message">{}</span>', message) if message else "",
    )


def format_duration(delta: timedelta | None) -> str:
    """A short human duration: '850 ms', '12.3 s', '4 min 5 s', '2 h 3 min', '3 d 4 h'."""
    if delta is None:
        return EMPTY
    seconds = max(delta.total_seconds(), 0.0)  # clocks of different hosts may disagree slightly
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def run_time(record: JobRecord, now: datetime) -> timedelta | None:
    """From the start of the first attempt to the end (or to `now` while it runs or waits to retry)."""
    if record.started_at is None:
        return None
    if record.finished_at is not None:
        return record.finished_at - record.started_at
    if record.status in TERMINAL_STATUSES:
        return None
    return now - record.started_at


def wait_time(record: JobRecord, now: datetime) -> timedelta | None:
    """From enqueue to the first attempt (or to `now` while it still waits); delays count as waiting."""
    if record.started_at is not None:
        return record.started_at - record.enqueued_at
    if record.status in TERMINAL_STATUSES:
        return None  # canceled before it ever ran
    return now - record.enqueued_at


def timestamp(moment: datetime | None) -> str:
    """A local time with seconds, '2026-12-03 18:37:05.250'; '-' for none."""
    if moment is None:
        return EMPTY
    local = timezone.localtime(moment)
    return f"{local:%Y-%m-%d %H:%M:%S}.{local.microsecond // 1000:03d}"


def short_timestamp(moment: datetime, now: datetime) -> SafeString:
    """For a column: '18:37:05' today, 'Dec 01 18:37' this year, '2025-12-01' before; the full time on hover."""
    local, today = timezone.localtime(moment), timezone.localtime(now)
    if local.date() == today.date():
        shown = f"{local:%H:%M:%S}"
    elif local.year == today.year:
        shown = f"{local:%b %d %H:%M}"
    else:
        shown = f"{local:%Y-%m-%d}"
    return format_html('<time datetime="{}" title="{}">{}</time>', local.isoformat(), timestamp(moment), shown)


def pretty_json(value: Any) -> SafeString | str:
    """Indented, key-sorted JSON in a monospace block; '-' for no value."""
    if value is None:
        return EMPTY
    return preformatted(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))


def preformatted(text: str) -> SafeString | str:
    """`text` (a traceback, a message) in a monospace block that keeps its lines; '-' if empty."""
    if not text:
        return EMPTY
    return format_html('<pre class="jr-pre">{}</pre>', text)
