"""Shared plumbing for the benchmarks: environments, processes, Redis, timing.

Every benchmark runs its contenders side by side in one run, on the same Redis and the same
database, and reports ratios, so a noisy shared machine moves both sides alike.

Example:
    >>> env = bench_env(db="sqlite")
    >>> reset_state(env)
    >>> span = run_workers([manage("rqworker", "--burst")], env)
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_REDIS = "redis://127.0.0.1:6379/9"
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/jobsite_bench"


def bench_env(db: str = "sqlite", **extra: str) -> dict[str, str]:
    """Environment for benchmark subprocesses: bench settings, the chosen database, our Redis DB."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "BENCH_REDIS_URL": os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS),
    }
    if db == "postgres":
        env["BENCH_DATABASE_URL"] = os.environ.get("BENCH_POSTGRES_URL", POSTGRES_URL)
    elif db != "sqlite":
        raise SystemExit(f"unknown database {db!r}; use sqlite or postgres")
    env.update(extra)
    return env


def setup_django(env: dict[str, str]) -> None:
    """Configure Django in this process with the benchmark settings of `env`.

    Django reads its settings once per process, so another database needs another process
    (in_fresh_process()); asking for it here is an error, not a silent run on the first one.
    """
    keys = ("DJANGO_SETTINGS_MODULE", "BENCH_REDIS_URL", "BENCH_DATABASE_URL")
    wanted = {key: env.get(key) for key in keys}
    if (apps := sys.modules.get("django.apps")) is not None and apps.apps.ready:
        if {key: os.environ.get(key) for key in keys} != wanted:
            raise RuntimeError("Django is already set up here with other settings; use in_fresh_process()")
        return
    for key, value in wanted.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def in_fresh_process(func: Callable[..., T], *args: object) -> T:
    """func(*args) in a new Python process (spawned, not forked): one Django setup per database."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(func, *args).result()


def manage(*args: str) -> list[str]:
    return [PYTHON, str(ROOT / "manage.py"), *args]


def reset_state(env: dict[str, str]) -> None:
    """A fresh database (migrated) and an empty Redis DB."""
    url = env.get("BENCH_DATABASE_URL")
    if url and url.startswith("postgres"):
        parts = urlsplit(url)
        name = parts.path.lstrip("/")
        admin = parts._replace(path="/postgres").geturl()
        subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {name}"], check=True)
        subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)
    else:
        for suffix in ("", "-wal", "-shm"):
            (ROOT / "bench" / f".bench.sqlite3{suffix}").unlink(missing_ok=True)
    subprocess.run(manage("migrate", "-v0"), env=env, check=True)
    redis().flushdb()


def redis():
    from redis import Redis

    return Redis.from_url(os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))


def run_workers(commands: Sequence[Sequence[str]], env: dict[str, str]) -> float:
    """Start every command at once, wait for all to exit; return the wall time in seconds."""
    started = time.perf_counter()
    procs = [
        subprocess.Popen(list(cmd), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for cmd in commands
    ]
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(proc.args)} failed ({proc.returncode}):\n{err.decode()[-3000:]}")
    return time.perf_counter() - started


def rq_span(job_ids: Iterable[str]) -> float:
    """Seconds from the first job's start to the last job's end, read from RQ's own job hashes."""
    from rq.job import Job

    conn = redis()
    jobs = [job for job in Job.fetch_many(list(job_ids), connection=conn) if job is not None]
    unfinished = [job.id for job in jobs if job.ended_at is None]
    if unfinished:
        raise SystemExit(f"{len(unfinished)} jobs did not finish, e.g. {unfinished[:3]}")
    starts = [job.started_at for job in jobs]
    ends = [job.ended_at for job in jobs]
    return (max(ends) - min(starts)).total_seconds()


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def paired_ratio(values: Sequence[float], base: Sequence[float]) -> float:
    """Median over rounds of values[i] / base[i]: each ratio taken within one round, so a machine
    that is slow for a while slows both sides of it alike.

    Example:
        >>> paired_ratio([90, 45], [100, 50])
        0.9
    """
    return median([value / other for value, other in zip(values, base, strict=True)])


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def write_result(name: str, result: dict) -> Path:
    """Keep a benchmark's figures as JSON under bench/results/ for the chart."""
    import json

    folder = ROOT / "bench" / "results"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"cpu_count": os.cpu_count(), **result}, indent=2, default=str))
    return path


def table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    """A plain text table for the terminal and the README."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
