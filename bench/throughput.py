"""Job throughput: our registry and worker against raw RQ, side by side in one run.

    .venv/bin/python bench/throughput.py [--jobs 1000] [--db sqlite|postgres] [--workers 1 2]

For each database it runs, on the same Redis:
  raw RQ       `rq worker --burst` of the same worker class as ours, raw no-op jobs (JSON);
  ours         `manage.py rqworker --burst`, `jobs:ping` jobs through enqueue_job(), each
               recording started and finished (with its attempt) in the database;
  django-rq    django-rq's own default `rqworker` (forking, pickle) on raw no-op jobs;
and raw RQ and ours again with more worker processes (by default as many as there are cores).
Throughput is jobs / (last end - first start), read from RQ's job hashes, so process start-up is
not counted for anyone.
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
    in_fresh_process,
    manage,
    median,
    paired_ratio,
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


def measure(db: str, jobs: int, worker_counts: list[int], worker_class: str | None, rounds: int) -> list[dict]:
    env = bench_env(db)
    reset_state(env)
    setup_django(env)
    from django.db import connection

    connection.close()  # the database was just recreated under us
    rq_class, our_class = worker_classes(worker_class)
    class_args = ["--worker-class", our_class] if worker_class else []
    redis_url = env["BENCH_REDIS_URL"]
    json = "rq.serializers.JSONSerializer"
    raw_label = f"raw RQ ({rq_class.rsplit('.', 1)[1]})"
    ours_label = f"ours ({our_class.rsplit('.', 1)[1]})"
    django_rq_label = "django-rq default (Worker, pickle)"
    raw_worker = [PYTHON, "-m", "rq.cli", "worker", "--burst", "-q", "--url", redis_url, "-w", rq_class,
                  "--serializer", json, "default"]  # fmt: skip
    # Every contender's jobs/s, one entry per round, keyed by (label, processes).
    runs: dict[tuple[str, int], list[float]] = {}

    def record(label: str, processes: int, ids: list[str]) -> None:
        runs.setdefault((label, processes), []).append(jobs / rq_span(ids))

    # Rounds alternate the contenders, so a noisy neighbour slows each of them alike; each round's
    # ratios are taken within the round, and the medians of those are reported.
    for _ in range(rounds):
        for count in worker_counts:
            ids = raw_jobs(jobs, json)
            run_workers([raw_worker] * count, env)
            record(raw_label, count, ids)
            ids = our_jobs(jobs)
            run_workers([manage("rqworker", "--burst", "-v0", *class_args)] * count, env)
            record(ours_label, count, ids)
        if db == "postgres":
            ids = our_jobs(jobs)
            durable = {**env, "JOB_WORKER_DURABLE_COMMIT": "true"}
            run_workers([manage("rqworker", "--burst", "-v0", *class_args)], durable)
            record(f"{ours_label}, JOB_WORKER_DURABLE_COMMIT", 1, ids)
        ids = raw_jobs(jobs, "rq.serializers.DefaultSerializer")
        run_workers([[PYTHON, str(ROOT / "bench" / "django_rq_worker.py"), "--burst"]], env)
        record(django_rq_label, 1, ids)

    def paired(label: str, processes: int, base_label: str, base_processes: int) -> float:
        return paired_ratio(runs[label, processes], runs[base_label, base_processes])

    rows = []
    for (label, processes), rates in runs.items():
        same_count = processes if (raw_label, processes) in runs else 1
        rows.append(
            {
                "database": db,
                "worker": label,
                "processes": processes,
                "jobs_per_s": median(rates),
                "vs_raw": paired(label, processes, raw_label, same_count),
                "vs_one_process": paired(label, processes, label, 1) if (label, 1) in runs else None,
                "ours_vs_it": paired(ours_label, 1, label, 1) if processes == 1 else None,
                "spread": (min(rates), max(rates)),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    parser.add_argument("--workers", nargs="+", type=int, default=[1, os.cpu_count() or 2])
    parser.add_argument("--worker-class", help="run ours with this class instead of the default")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each contender; medians are reported")
    args = parser.parse_args()
    rows = []
    for db in args.db:
        rows += in_fresh_process(measure, db, args.jobs, sorted(set(args.workers)), args.worker_class, args.rounds)
    print(
        f"\nJob throughput, {args.jobs} no-op jobs per run, {args.rounds} rounds, {os.cpu_count()} cores.\n"
        "Ratios are medians of ratios taken within each round; 'vs raw RQ' compares with raw RQ running the "
        "same number of processes."
    )

    def fmt(value: float | None) -> str:
        return "" if value is None else f"{value:.2f}"

    print(
        table(
            [
                (
                    r["database"],
                    r["worker"],
                    r["processes"],
                    f"{r['jobs_per_s']:,.0f}",
                    f"{r['spread'][0]:,.0f}-{r['spread'][1]:,.0f}",
                    fmt(r["vs_raw"]),
                    fmt(r["vs_one_process"]) if r["processes"] > 1 else "",
                    fmt(r["ours_vs_it"]) if not r["worker"].startswith("ours") else "",
                )
                for r in rows
            ],
            ["database", "worker", "processes", "jobs/s", "range", "vs raw RQ", "vs 1 process", "ours (1) vs it"],
        )
    )
    write_result("throughput", {"jobs": args.jobs, "rounds": args.rounds, "rows": rows})


if __name__ == "__main__":
    main()
