"""Enqueue throughput: enqueue_job() (record included) against raw RQ, side by side in one run.

    .venv/bin/python bench/enqueue.py [--jobs 2000] [--db sqlite|postgres]

raw RQ single   queue.enqueue() of a no-op, one call per job (JSON serializer)
ours single     enqueue_job("jobs:ping", ...) per job: a record in its own transaction, then Redis
ours bulk       enqueue_jobs("jobs:ping", [...]): one transaction, one Redis pipeline
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import bench_env, redis, reset_state, setup_django, table, write_result


def rate(count: int, func) -> float:
    started = time.perf_counter()
    func()
    return count / (time.perf_counter() - started)


def measure(db: str, jobs: int) -> list[tuple]:
    env = bench_env(db)
    reset_state(env)
    setup_django(env)
    from django.db import connection
    from rq import Queue

    from jobregistry import enqueue_job, enqueue_jobs

    connection.close()  # the database was just recreated under us
    queue = Queue("default", connection=redis(), serializer="rq.serializers.JSONSerializer")
    payloads = [{"n": n} for n in range(jobs)]

    raw = rate(jobs, lambda: [queue.enqueue("bench.rawjobs.noop") for _ in range(jobs)])
    single = rate(jobs, lambda: [enqueue_job("jobs:ping", p) for p in payloads])
    bulk = rate(jobs, lambda: enqueue_jobs("jobs:ping", payloads))
    redis().flushdb()
    return [
        (db, "raw RQ queue.enqueue()", f"{raw:,.0f}", "1.00"),
        (db, "ours enqueue_job()", f"{single:,.0f}", f"{single / raw:.2f}"),
        (db, "ours enqueue_jobs() (bulk)", f"{bulk:,.0f}", f"{bulk / raw:.2f}"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    args = parser.parse_args()
    rows = []
    for db in args.db:
        rows += measure(db, args.jobs)
    print(f"\nEnqueue throughput, {args.jobs} jobs per run")
    print(table(rows, ["database", "call", "jobs/s", "vs raw RQ"]))
    write_result("enqueue", {"jobs": args.jobs, "rows": rows})


if __name__ == "__main__":
    main()
