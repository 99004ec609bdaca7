"""How the job records admin behaves with 100,000 records: queries and time per page.

Fills a scratch database (never the project's) with job records spread over 90 days, then
renders the change list the way staff use it and prints each page's query count, the slowest
query and the page time. It prints figures to compare, never asserts a time.

    .venv/bin/python bench/admin_changelist.py                       # SQLite in /tmp
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/jobsite_bench .venv/bin/python bench/admin_changelist.py
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

ROWS = int(os.environ.get("BENCH_ROWS", "100000"))
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", f"sqlite:///{Path(tempfile.gettempdir()) / 'jobsite-bench-admin.sqlite3'}"
)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobsite.settings")
os.environ["DEBUG"] = "true"
os.environ["OCR_ENABLED"] = "true"
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from jobregistry import JobRecord, JobStatus  # noqa: E402

NAMES = ["ocr:process"] * 6 + ["jobs:ping", "email:send", "report:build", "thumbs:make"]
STATUSES = [JobStatus.FINISHED] * 20 + [JobStatus.FAILED, JobStatus.QUEUED, JobStatus.STARTED, JobStatus.CANCELED]


def fill() -> None:
    if JobRecord.objects.count() == ROWS:
        return
    JobRecord.objects.all().delete()
    rng, now = random.Random(7), timezone.now()
    batch = []
    for n in range(ROWS):
        enqueued = now - timedelta(seconds=rng.randrange(90 * 24 * 3600))
        status = rng.choice(STATUSES)
        started = enqueued + timedelta(seconds=rng.random() * 5) if status != JobStatus.QUEUED else None
        batch.append(
            JobRecord(
                id=f"bench{n:07d}",
                name=rng.choice(NAMES),
                status=status,
                data={"upload_id": n, "object_key": f"uploads/2026/12/{n:032x}.png", "mime": "image/png"},
                attempts=1 if started else 0,
                max_attempts=3,
                progress=100 if status == JobStatus.FINISHED else 40,
                started_at=started,
                finished_at=started + timedelta(seconds=rng.random() * 20) if started else None,
                error_message="No such file" if status == JobStatus.FAILED else "",
            )
        )
        if len(batch) == 5000:
            JobRecord.objects.bulk_create(batch)
            batch = []
    JobRecord.objects.bulk_create(batch)
    # enqueued_at is auto_now_add: spread it afterwards, in one statement per day would be slow; use SQL.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE jobregistry_jobrecord SET enqueued_at = started_at WHERE started_at IS NOT NULL")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE jobregistry_jobrecord")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def main() -> None:
    call_command("migrate", verbosity=0)
    fill()
    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    today = timezone.localdate()
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    pages = {
        "list": "",
        "status=failed": "?status__exact=failed",
        "name=ocr:process": "?name=ocr%3Aprocess",
        "name+status": "?name=email%3Asend&status__exact=failed",
        "queue": "?queue=default",
        "past 7 days": "?"
        + urlencode(
            {
                "enqueued_at__gte": str(midnight - timedelta(days=7)),
                "enqueued_at__lt": str(midnight + timedelta(days=1)),
            }
        ),
        "year drill-down": f"?enqueued_at__year={today.year}",
        "month drill-down": f"?enqueued_at__year={today.year}&enqueued_at__month={today.month}",
        "page 100": "?p=100",
        "search id": "?q=bench0004242",
        "search payload": "?q=0000ab12",
        "sort by duration": "?o=8",
    }
    client.get("/admin/jobregistry/jobrecord/")  # warm caches
    print(f"{connection.vendor}, {JobRecord.objects.count():,} records")
    print(f"{'page':<18} {'queries':>7} {'page ms':>8} {'slowest query ms':>17}")
    for label, query in pages.items():
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            response = client.get(f"/admin/jobregistry/jobrecord/{query}")
            elapsed = (time.perf_counter() - start) * 1000
        assert response.status_code == 200, (label, response.status_code)
        timed = sorted((run_to_the_end(q["sql"]), q["sql"]) for q in queries.captured_queries)
        print(f"{label:<18} {len(queries):>7} {elapsed:>8.0f} {timed[-1][0]:>17.0f}")
        if os.environ.get("BENCH_VERBOSE"):
            print("   ", timed[-1][1][:300])


def run_to_the_end(sql: str) -> float:
    """Milliseconds to run `sql` and fetch every row (Django times only execute(); SQLite computes lazily)."""
    with connection.cursor() as cursor:
        start = time.perf_counter()
        cursor.execute(sql)
        cursor.fetchall()
        return (time.perf_counter() - start) * 1000


if __name__ == "__main__":
    main()
