"""Fixtures shared by the suite: the test Redis and real worker processes.

Tests that need the worker use the `worker` fixture and a transactional database, since the
worker is another process and sees only committed rows.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import django_rq
import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from redis import Redis

from jobregistry import enqueue_job

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


def child_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a `manage.py` process the tests start: test settings, the test database."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "JOBSITE_TEST_WORKER": "1",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }


def run_manage(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `manage.py <args>` in a process of its own, as an operator or a web process would."""
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=child_env(env), capture_output=True, text=True
    )


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (work horse, scheduler), read from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended while we looked
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


class WorkerProcess:
    """A `manage.py rqworker` subprocess started by the tests."""

    def __init__(self, *extra_args: str, name: str | None = None, env: dict[str, str] | None = None) -> None:
        self.name = name or f"test-worker-{uuid.uuid4().hex[:8]}"
        LOG_DIR.mkdir(exist_ok=True)
        self.log_path = LOG_DIR / f"{self.name}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "rqworker", "--name", self.name, *extra_args],
            cwd=BASE_DIR,
            env=child_env(env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def kill_all(self) -> list[int]:
        """SIGKILL the worker and every process it started, at once: the host died. Returns the pids."""
        pids = process_tree(self.process.pid)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait()
        return pids

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


@pytest.fixture
def spawn_worker(django_db_blocker) -> Iterator[Callable[..., WorkerProcess]]:
    """Start workers for one test against `redis` (default: the test Redis); stopped when the test ends."""
    started: list[WorkerProcess] = []

    def spawn(*extra_args: str, redis: RedisServer | None = None, env: dict[str, str] | None = None) -> WorkerProcess:
        target = redis.env if redis is not None else {"TEST_REDIS_URL": settings.REDIS_URL}
        worker = WorkerProcess(*extra_args, env={**target, **(env or {})})
        started.append(worker)
        worker.wait_ready(redis.conn if redis is not None else django_rq.get_connection("default"))
        return worker

    yield spawn
    for worker in started:
        worker.stop()


# The queue of tests that run on a Redis of their own. The suite's shared, session-long workers do
# not know it, so they never reconcile those tests' records (which sit in the same test database)
# against their own Redis; in production one database goes with one Redis. Workers started for
# such a test know every queue (the system check wants each job type's queue configured); they
# live only during their test, and each test's records are gone before the next one begins.
PRIVATE_QUEUE = "private"


def enqueue_private(name: str, data, **options):
    """enqueue_job() onto the private Redis's queue."""
    return enqueue_job(name, data, queue=PRIVATE_QUEUE, **options)


class RedisServer:
    """A redis-server of the test's own, on a free port from 6390 to 6399, that a test may stop and restart.

    With `persistent`, it keeps an append-only file (fsync always) in `directory`, so a restart
    keeps its data, as production Redis should (see the README).
    """

    PORTS = range(6390, 6400)

    def __init__(self, directory: Path, *, persistent: bool) -> None:
        self.directory = directory
        self.persistent = persistent
        self.port = self._free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.conn = Redis.from_url(self.url)
        # What a process started for this Redis needs: its URL and the private queue alone.
        self.env = {"TEST_REDIS_URL": self.url, "TEST_JOB_QUEUES": f"{PRIVATE_QUEUE},{settings.TEST_QUEUES}"}
        self.process: subprocess.Popen | None = None
        self.start()

    def _free_port(self) -> int:
        for port in self.PORTS:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) != 0:
                    return port
        raise RuntimeError(f"no free port for a test Redis in {self.PORTS}")

    def start(self) -> None:
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--dir",
             str(self.directory), *persistence, "--logfile", str(self.directory / "redis.log")],
        )  # fmt: skip
        wait_until(self._answers, timeout=30, what=f"redis-server on port {self.port}")

    def stop(self) -> None:
        """Stop it the way a crash or a restart would: SIGTERM (with an append-only file, its data is kept)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.process = None

    def _answers(self) -> bool:
        try:
            return bool(self.conn.ping())
        except Exception:
            return False


@contextlib.contextmanager
def redis_of_its_own(directory: Path, *, persistent: bool) -> Iterator[RedisServer]:
    server = RedisServer(directory, persistent=persistent)
    config = next(iter(settings.RQ_QUEUES.values()))
    queues = {name: {**config, "URL": server.url} for name in [PRIVATE_QUEUE, *settings.RQ_QUEUES]}
    try:
        with override_settings(REDIS_URL=server.url, RQ_QUEUES=queues):
            yield server
    finally:
        server.stop()


@pytest.fixture
def private_redis(tmp_path) -> Iterator[RedisServer]:
    """A Redis for this test alone, with an append-only file; the test process enqueues into it."""
    with redis_of_its_own(tmp_path, persistent=True) as server:
        yield server


@pytest.fixture
def forgetful_redis(tmp_path) -> Iterator[RedisServer]:
    """A Redis for this test alone that keeps nothing on disk: a restart empties it."""
    with redis_of_its_own(tmp_path, persistent=False) as server:
        yield server


@pytest.fixture
def postgres_only() -> None:
    """Skip, loudly, unless the test database is PostgreSQL (bin/test runs a PostgreSQL pass).

    Under REQUIRE_POSTGRES (CI) a PostgreSQL test that finds another database fails instead: a
    skip there would mean the PostgreSQL pass silently stopped happening.
    """
    if connection.vendor == "postgresql":
        return
    message = "needs PostgreSQL: bin/test runs these with TEST_DATABASE_URL=postgres://... in a second pass"
    if os.environ.get("REQUIRE_POSTGRES"):
        pytest.fail(f"{message} (REQUIRE_POSTGRES is set, so this is a failure, not a skip)")
    pytest.skip(message)


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
