"""Enqueue throughput: enqueue_job() (record included) against raw RQ, side by side in one run.

    .venv/bin/python bench/enqueue.py [--jobs 2000] [--db sqlite|postgres] [--rounds 5]

raw RQ single   queue.enqueue() of a no-op, one call per job (JSON serializer)
ours single     enqueue_job("jobs:ping", ...) per job: a record in its own transaction, then Redis
ours bulk       enqueue_jobs("jobs:ping", [...]): one transaction, one Redis pipeline
floor           per job, the same record row written by the bare database driver (its own
                committed statement, no Django), then raw queue.enqueue(): what any design that
                commits a record before it tells Redis costs at the least. "vs floor" shows what
                our own code adds on top.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    bench_env,
    in_fresh_process,
    median,
    paired_ratio,
    redis,
    reset_state,
    setup_django,
    table,
    write_result,
)

FLOOR = "floor: bare INSERT + raw queue.enqueue()"


def rate(count: int, func) -> float:
    started = time.perf_counter()
    func()
    return count / (time.perf_counter() - started)


def bare_insert(connection, record) -> Callable[[], None]:
    """A call that INSERTs a copy of `record`'s row (a new id each time) through the driver itself.

    The statement and values are built once, here, as records.insert_new() builds them; each call
    only swaps the id and executes, committed at once (Django keeps its connections in autocommit).
    On PostgreSQL the cursor binds on the server, as insert_new()'s does.
    """
    from jobregistry.models import JobRecord
    from jobregistry.records import insert_statement

    table = connection.ops.quote_name(JobRecord._meta.db_table)
    sql, values = insert_statement(record, connection, table)  # the statement enqueue_job() runs
    if connection.vendor == "sqlite":
        sql = sql.replace("%s", "?")  # what Django's SQLite cursor does on the way to the driver
    id_index = [field.attname for field in JobRecord._meta.concrete_fields].index("id")
    connection.ensure_connection()
    driver = connection.connection
    if connection.vendor == "postgresql":
        import psycopg

        cursor = psycopg.Cursor(driver)
    else:
        cursor = driver.cursor()

    def insert() -> None:
        values[id_index] = uuid.uuid4().hex
        cursor.execute(sql, values)

    return insert


def measure(db: str, jobs: int, rounds: int) -> list[tuple]:
    env = bench_env(db)
    reset_state(env)
    setup_django(env)
    from django.db import connection
    from rq import Queue

    from jobregistry import enqueue_job, enqueue_jobs

    connection.close()  # the database was just recreated under us
    queue = Queue("default", connection=redis(), serializer="rq.serializers.JSONSerializer")
    payloads = [{"n": n} for n in range(jobs)]
    insert = bare_insert(connection, enqueue_job("jobs:ping", payloads[0]))

    def floor() -> None:
        for _ in range(jobs):
            insert()
            queue.enqueue("bench.rawjobs.noop")

    contenders = {
        "raw RQ queue.enqueue()": lambda: [queue.enqueue("bench.rawjobs.noop") for _ in range(jobs)],
        FLOOR: floor,
        "ours enqueue_job()": lambda: [enqueue_job("jobs:ping", p) for p in payloads],
        "ours enqueue_jobs() (bulk)": lambda: enqueue_jobs("jobs:ping", payloads),
    }
    rates: dict[str, list[float]] = {label: [] for label in contenders}
    for round_number in range(rounds):
        # A different contender goes first each round, so none always runs on a warmer machine.
        order = list(contenders)[round_number % len(contenders) :] + list(contenders)[: round_number % len(contenders)]
        for label in order:
            rates[label].append(rate(jobs, contenders[label]))
        redis().flushdb()
    raw, least = rates["raw RQ queue.enqueue()"], rates[FLOOR]
    return [
        (db, label, f"{median(values):,.0f}", f"{paired_ratio(values, raw):.2f}", f"{paired_ratio(values, least):.2f}")
        for label, values in rates.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    parser.add_argument("--rounds", type=int, default=5, help="runs of each contender; medians are reported")
    args = parser.parse_args()
    rows = []
    for db in args.db:
        rows += in_fresh_process(measure, db, args.jobs, args.rounds)
    print(f"\nEnqueue throughput, {args.jobs} jobs per run, {args.rounds} rounds (ratios: medians of each round's)")
    print(table(rows, ["database", "call", "jobs/s", "vs raw RQ", "vs floor"]))
    write_result("enqueue", {"jobs": args.jobs, "rows": rows})


if __name__ == "__main__":
    main()
