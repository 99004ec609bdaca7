"""Settings for the test suite: the project's settings, pointed at test services.

TEST_DATABASE_URL (default: a SQLite file in the checkout) and TEST_REDIS_URL (default: DB 15 of
the local Redis) are set here, before the project's settings read the environment, so a
developer's .env or REDIS_URL can never send tests at real data.
"""

import os
from pathlib import Path

_BASE = Path(__file__).resolve().parent.parent
_SQLITE_PATH = _BASE / ".test-db.sqlite3"

os.environ["DATABASE_URL"] = os.environ.get("TEST_DATABASE_URL", f"sqlite:///{_SQLITE_PATH}")
os.environ["REDIS_URL"] = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# The worker the suite shares listens on default and low; `isolated` is for workers a single test
# starts with special settings, so no other worker takes their jobs; `ordered` stays unworked until
# the one test that fills it starts its worker (jobs there must wait, to show their run order).
TEST_QUEUES = "default,low,isolated,ordered"
os.environ["JOB_QUEUES"] = os.environ.get("TEST_JOB_QUEUES", TEST_QUEUES)
os.environ["OCR_ENABLED"] = "true"
# DEBUG off, as in production, so the tests run the production checks: a key of 50+ characters and hosts.
os.environ["SECRET_KEY"] = "tests-only-secret-key-not-for-production-0123456789abcdef"
os.environ["DEBUG"] = "false"
os.environ["ALLOWED_HOSTS"] = "testserver,localhost,127.0.0.1"
# The test client and the live server speak plain HTTP; every other HTTPS setting keeps its production value.
os.environ["SECURE_SSL_REDIRECT"] = "false"
os.environ.setdefault("MEDIA_ROOT", str(_BASE / ".test-media"))
# WhiteNoise serves STATIC_ROOT with DEBUG off; the suite gives it a folder of its own (see conftest).
os.environ.setdefault("STATIC_ROOT", str(_BASE / ".test-static"))
# Dead workers are noticed within seconds, so the fault tests stay short.
os.environ.setdefault("JOB_STALE_AFTER", "4")
os.environ.setdefault("JOB_RECONCILE_INTERVAL", "1")

from jobsite.settings import *  # noqa: E402,F403
from jobsite.settings import DATABASES, INSTALLED_APPS, TASKS  # noqa: E402

INSTALLED_APPS = [*INSTALLED_APPS, "tests.jobapp"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
# A second Tasks backend with retries, for `@task(backend="retrying")` fixtures (workers read it too).
TASKS = {
    **TASKS,
    "retrying": {**TASKS["default"], "OPTIONS": {"attempts": 2, "backoff": {"type": "fixed", "delay": 0}}},
}

_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # One file for the test run and the worker processes it starts (an in-memory DB is per process).
    _db["TEST"] = {"NAME": str(_SQLITE_PATH)}
elif os.environ.get("JOBSITE_TEST_WORKER") == "1":
    # A worker started by the tests must use the test database pytest-django created.
    _db["NAME"] = _db.get("TEST", {}).get("NAME") or f"test_{_db['NAME']}"
