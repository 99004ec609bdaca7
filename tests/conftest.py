"""Fixtures shared by the suite: the test Redis and real worker processes.

Tests that need the worker use the `worker` fixture and a transactional database, since the
worker is another process and sees only committed rows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import django_rq
import pytest
from django.conf import settings
from redis import Redis

from .waiting import wait_until

BASE_DIR = Path(__file__).resolve().parent.parent
LOG_DIR = BASE_DIR / "test-artifacts"


@pytest.fixture(scope="session", autouse=True)
def empty_test_media() -> None:
    """Start each run with an empty test MEDIA_ROOT (shared with the workers the tests start)."""
    media = Path(settings.MEDIA_ROOT)
    assert media.name == ".test-media", f"refusing to empty {media}: not the test media folder"
    shutil.rmtree(media, ignore_errors=True)
    media.mkdir()
    # WhiteNoise (DEBUG is off in the tests) expects STATIC_ROOT to exist; collectstatic is a test of its own.
    Path(settings.STATIC_ROOT).mkdir(exist_ok=True)


@pytest.fixture(scope="session")
def redis_conn() -> Redis:
    """The test Redis (TEST_REDIS_URL, DB 15 by default), emptied once per run."""
    conn = django_rq.get_connection("default")
    try:
        conn.ping()
    except Exception as exc:  # any failure to connect, reported plainly
        pytest.exit(f"The tests need a Redis at {settings.REDIS_URL}: {exc}", returncode=3)
    conn.flushdb()
    return conn


class WorkerProcess:
    """A `manage.py rqworker` subprocess started by the tests."""

    def __init__(self, *extra_args: str, name: str | None = None, env: dict[str, str] | None = None) -> None:
        self.name = name or f"test-worker-{uuid.uuid4().hex[:8]}"
        LOG_DIR.mkdir(exist_ok=True)
        self.log_path = LOG_DIR / f"{self.name}.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "JOBSITE_TEST_WORKER": "1",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "rqworker", "--name", self.name, *extra_args],
            cwd=BASE_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, conn: Redis) -> None:
        from rq import Worker

        def registered() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited with {self.process.returncode}:\n{self.log()}")
            return any(w.name == self.name for w in Worker.all(connection=conn))

        wait_until(registered, timeout=60, what=f"worker {self.name} to register in Redis")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM: RQ's warm shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@pytest.fixture(scope="session")
def start_worker(django_db_setup, django_db_blocker, redis_conn) -> Iterator[Callable[..., WorkerProcess]]:
    """Start workers on demand; all are stopped at the end of the run."""
    started: list[WorkerProcess] = []

    def start(*extra_args: str, env: dict[str, str] | None = None) -> WorkerProcess:
        worker = WorkerProcess(*extra_args, env=env)
        started.append(worker)
        worker.wait_ready(redis_conn)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture(scope="session")
def worker(start_worker) -> WorkerProcess:
    """One long-running worker started with no arguments, exactly as the README runs it.

    It works the queues `default` and `low`; `isolated` is left to workers single tests start.
    """
    return start_worker(env={"TEST_JOB_QUEUES": "default,low"})


def pytest_terminal_summary(terminalreporter) -> None:
    """Print the tables tests filled in with tests.reporting.report() (the hostile upload corpus, ...)."""
    from .reporting import render_tables

    for line in render_tables():
        terminalreporter.write_line(line)
