"""Worker memory: resident size of one `manage.py rqworker` after 500 and after 5,000 jobs.

    .venv/bin/python bench/memory.py [--jobs 5000] [--early 500] [--worker-class PATH]

The worker runs `jobs:ping` jobs (records written to the database) until all are finished; its
RSS, and that of any work horse it forks, is sampled from /proc when the finished count passes
`--early` and at the end. Target: the late figure within 10% of the early one.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import bench_env, manage, reset_state, setup_django, table, write_result


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def finished_count() -> int:
    from jobregistry import JobRecord, JobStatus

    return JobRecord.objects.filter(status=JobStatus.FINISHED).count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--early", type=int, default=500)
    parser.add_argument("--worker-class")
    args = parser.parse_args()

    env = bench_env("sqlite")
    reset_state(env)
    setup_django(env)
    from jobregistry import enqueue_job

    for n in range(args.jobs):
        enqueue_job("jobs:ping", {"n": n})
    extra = ["--worker-class", args.worker_class] if args.worker_class else []
    worker = subprocess.Popen(manage("rqworker", "-v0", *extra), env=env)
    try:
        samples: dict[str, int] = {}
        while (done := finished_count()) < args.jobs:
            if "early" not in samples and done >= args.early:
                samples["early"] = rss_kib(worker.pid)
            if worker.poll() is not None:
                raise SystemExit(f"the worker exited with {worker.returncode}")
            time.sleep(0.05)
        samples["late"] = rss_kib(worker.pid)
    finally:
        worker.terminate()
        worker.wait()
    growth = samples["late"] / samples["early"] - 1
    rows = [
        (f"after {args.early} jobs", f"{samples['early'] / 1024:.1f}"),
        (f"after {args.jobs} jobs", f"{samples['late'] / 1024:.1f}"),
        ("growth", f"{growth:+.1%}"),
    ]
    print(f"\nWorker resident memory (MiB), {extra[1] if extra else 'default worker class'}")
    print(table(rows, ["when", "RSS MiB"]))
    write_result("memory", {"jobs": args.jobs, "early": args.early, "rss_kib": samples, "growth": growth})


if __name__ == "__main__":
    main()
