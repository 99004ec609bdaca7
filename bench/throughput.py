"""Job throughput: our registry and worker against raw RQ, side by side in one run.

    .venv/bin/python bench/throughput.py [--jobs 1000] [--db sqlite|postgres] [--workers 1 2]

For each database it runs, on the same Redis:
  raw RQ       `rq worker --burst` of the same worker class as ours, raw no-op jobs (JSON);
  ours         `manage.py rqworker --burst`, `jobs:ping` jobs through enqueue_job(), each
               recording started and finished (with its attempt) in the database;
  django-rq    django-rq's own default `rqworker` (forking, pickle) on raw no-op jobs;
and ours again with more worker processes. Throughput is jobs / (last end - first start), read
from RQ's job hashes, so process start-up is not counted for anyone.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    PYTHON,
    ROOT,
    bench_env,
    manage,
    median,
    reset_state,
    rq_span,
    run_workers,
    setup_django,
    table,
    write_result,
)


def raw_jobs(count: int, serializer: str) -> list[str]:
    from rq import Queue

    from bench.harness import redis

    queue = Queue("default", connection=redis(), serializer=serializer)
    with queue.connection.pipeline() as pipe:
        jobs = [queue.enqueue_call("bench.rawjobs.noop", result_ttl=3600, pipeline=pipe) for _ in range(count)]
        pipe.execute()
    return [job.id for job in jobs]


def our_jobs(count: int) -> list[str]:
    from jobregistry import enqueue_job

    return [enqueue_job("jobs:ping", {"n": n}).pk for n in range(count)]


def worker_classes(override: str | None) -> tuple[str, str]:
    """(RQ's class, ours) as dotted paths: our rqworker's class and the RQ class it is built on."""
    from django_rq.workers import get_worker_class
    from rq.worker import BaseWorker

    cls = get_worker_class(override)
    rq_base = next(k for k in cls.__mro__ if k.__module__.startswith("rq.") and issubclass(k, BaseWorker))
    return f"{rq_base.__module__}.{rq_base.__qualname__}", f"{cls.__module__}.{cls.__qualname__}"


def measure(db: str, jobs: int, worker_counts: list[int], worker_class: str | None, rounds: int) -> list[tuple]:
    env = bench_env(db)
    reset_state(env)
    setup_django(env)
    from django.db import connection

    connection.close()  # the database was just recreated under us
    rq_class, our_class = worker_classes(worker_class)
    class_args = ["--worker-class", our_class] if worker_class else []
    redis_url = env["BENCH_REDIS_URL"]
    json = "rq.serializers.JSONSerializer"
    ours_label = f"ours ({our_class.rsplit('.', 1)[1]})"
    runs: dict[tuple[str, int], list[float]] = {}

    def record(label: str, processes: int, rate: float) -> None:
        runs.setdefault((label, processes), []).append(rate)

    # Rounds alternate the contenders, so a noisy neighbour slows each of them alike.
    for _ in range(rounds):
        ids = raw_jobs(jobs, json)
        run_workers([[PYTHON, "-m", "rq.cli", "worker", "--burst", "-q", "--url", redis_url, "-w", rq_class,
                      "--serializer", json, "default"]], env)  # fmt: skip
        record(f"raw RQ ({rq_class.rsplit('.', 1)[1]})", 1, jobs / rq_span(ids))
        for count in worker_counts:
            ids = our_jobs(jobs)
            run_workers([manage("rqworker", "--burst", "-v0", *class_args) for _ in range(count)], env)
            record(ours_label, count, jobs / rq_span(ids))
        if db == "postgres":
            ids = our_jobs(jobs)
            durable = {**env, "JOB_WORKER_DURABLE_COMMIT": "true"}
            run_workers([manage("rqworker", "--burst", "-v0", *class_args)], durable)
            record(f"{ours_label}, JOB_WORKER_DURABLE_COMMIT", 1, jobs / rq_span(ids))
        ids = raw_jobs(jobs, "rq.serializers.DefaultSerializer")
        run_workers([[PYTHON, str(ROOT / "bench" / "django_rq_worker.py"), "--burst"]], env)
        record("django-rq default (Worker, pickle)", 1, jobs / rq_span(ids))

    medians = {key: median(values) for key, values in runs.items()}
    raw = next(value for (label, _), value in medians.items() if label.startswith("raw"))
    return [
        (db, label, processes, f"{rate:,.0f}", f"{rate / raw:.2f}", f"{rate / (raw * processes):.2f}")
        for (label, processes), rate in medians.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    parser.add_argument("--workers", nargs="+", type=int, default=[1, os.cpu_count() or 2])
    parser.add_argument("--worker-class", help="run ours with this class instead of the default")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each contender; medians are reported")
    args = parser.parse_args()
    rows = []
    for db in args.db:
        rows += measure(db, args.jobs, sorted(set(args.workers)), args.worker_class, args.rounds)
    print(f"\nJob throughput, {args.jobs} no-op jobs per run, median of {args.rounds} rounds, {os.cpu_count()} cores")
    print(table(rows, ["database", "worker", "processes", "jobs/s", "vs raw RQ", "per process vs raw"]))
    write_result("throughput", {"jobs": args.jobs, "rows": rows})


if __name__ == "__main__":
    main()
