"""Settings for benchmarks: the project's settings on a benchmark database and Redis DB.

BENCH_DATABASE_URL (default: bench/.bench.sqlite3) and BENCH_REDIS_URL (default: DB 9 of the
local Redis) keep benchmark data away from development and test data.
"""

import os
from pathlib import Path

_HERE = Path(__file__).resolve().parent

os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{_HERE / '.bench.sqlite3'}")
os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789abcdefghij")
os.environ["DEBUG"] = "false"  # DEBUG keeps every SQL query in memory: never benchmark with it
os.environ.setdefault("OCR_ENABLED", "true")
os.environ.setdefault("MEDIA_ROOT", str(_HERE / ".bench-media"))
os.environ.setdefault("STATIC_ROOT", str(_HERE / ".bench-static"))  # WhiteNoise warns about a missing one
os.environ.setdefault("JOBREGISTRY_LOG_LEVEL", "WARNING")
os.environ["ALLOWED_HOSTS"] = "127.0.0.1,localhost"
os.environ["SECURE_SSL_REDIRECT"] = "false"  # the web benchmark talks plain HTTP on loopback
os.environ["ENV_FILE"] = ""  # a developer's .env must not change what is measured

from jobsite.settings import *  # noqa: E402,F403
from jobsite.settings import LOGGING, STATIC_ROOT  # noqa: E402

LOGGING["loggers"]["rq.worker"] = {"level": "WARNING"}
Path(STATIC_ROOT).mkdir(exist_ok=True)
