"""Settings for jobsite, read from the environment by django-environ.

Every setting has a safe default for a developer's machine (SQLite, a local Redis);
production sets DATABASE_URL, REDIS_URL, SECRET_KEY, ALLOWED_HOSTS and DEBUG=false.

Example:
    DATABASE_URL=postgres://jobsite@db/jobsite REDIS_URL=redis://redis:6379/0 \\
    SECRET_KEY=... ALLOWED_HOSTS=jobs.example.com python manage.py rqworker
"""

from pathlib import Path

import environ

from .settings_checks import proxy_ssl_header, require_allowed_hosts, require_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A .env file beside manage.py is optional; real environment variables win over it. ENV_FILE names
# another file, or none when empty (the tests use that to start the site with exactly their variables).
ENV_FILE: str = env.str("ENV_FILE", default=str(BASE_DIR / ".env"))
if ENV_FILE:
    environ.Env.read_env(ENV_FILE, overwrite=False)

DEBUG: bool = env.bool("DEBUG", default=False)

# With DEBUG off the site refuses to start without a real key and the hosts it serves.
SECRET_KEY: str = require_secret_key(
    env.str("SECRET_KEY", default=""), debug=DEBUG, dev_default="django-insecure-dev-only-key-never-use-in-production"
)
ALLOWED_HOSTS: list[str] = require_allowed_hosts(
    env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else []), debug=DEBUG
)
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- HTTPS (on by default when DEBUG is off; each can be switched from the environment) --------
_PRODUCTION = not DEBUG
SECURE_SSL_REDIRECT: bool = env.bool("SECURE_SSL_REDIRECT", default=_PRODUCTION)
SESSION_COOKIE_SECURE: bool = env.bool("SESSION_COOKIE_SECURE", default=_PRODUCTION)
CSRF_COOKIE_SECURE: bool = env.bool("CSRF_COOKIE_SECURE", default=_PRODUCTION)
SECURE_HSTS_SECONDS: int = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600 if _PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS: bool = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=_PRODUCTION)
SECURE_HSTS_PRELOAD: bool = env.bool("SECURE_HSTS_PRELOAD", default=_PRODUCTION)
# Behind a proxy that ends TLS, e.g. SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto: trust that header
# (and only when the proxy always sets it) to know a request came in over HTTPS.
SECURE_PROXY_SSL_HEADER = proxy_ssl_header(env.str("SECURE_PROXY_SSL_HEADER", default=""))

INSTALLED_APPS = [
    # jobregistry comes before django_rq so that its `rqworker` command overrides django-rq's.
    "jobregistry",
    "uploads",
    "django_rq",
    "django_tasks",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our static files: /api/docs/ works offline
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (the admin's CSS, the API docs) with DEBUG off, from STATIC_ROOT after collectstatic.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "jobsite.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "jobsite" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "jobsite.wsgi.application"
ASGI_APPLICATION = "jobsite.asgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A web process and several workers write at once: WAL lets readers run beside the one
    # writer, IMMEDIATE takes the write lock up front (no deadlock on lock upgrade), and the
    # timeout makes a busy writer wait instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
    )
# Keep connections between requests and between jobs: opening one costs more than most jobs (a
# PostgreSQL login; for SQLite, closing the last connection checkpoints the WAL). The health check
# before each reuse replaces a connection the database dropped, e.g. across a database restart.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=300)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "static")
STATICFILES_DIRS = [BASE_DIR / "jobsite" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # collectstatic also writes gzip copies, which WhiteNoise serves to clients that accept them.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Uploaded files live here but are never served from a public URL: views check ownership first.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "uploads:list"
LOGOUT_REDIRECT_URL = "login"

# --- Jobs -----------------------------------------------------------------------------------
REDIS_URL: str = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
# Every queue a worker started with no queue names listens on, highest priority first.
JOB_QUEUES: list[str] = env.list("JOB_QUEUES", default=["default"])
RQ_QUEUES = {
    # All queues share one connection config, so django-rq hands out one Redis connection.
    name: {"URL": REDIS_URL, "SERIALIZER": "rq.serializers.JSONSerializer"}
    for name in JOB_QUEUES
}
RQ = {
    # jobregistry hands jobs over in its own transaction.on_commit hook; django-rq must not defer again.
    "COMMIT_MODE": "auto",
    # Jobs run in the worker process, with jobregistry's heartbeats and reconciling: several times the
    # throughput of a fork per job (README, Performance). jobregistry.worker.Worker forks a work horse
    # per job instead, for processors that leak memory or may crash the interpreter.
    "WORKER_CLASS": env.str("RQ_WORKER_CLASS", default="jobregistry.worker.SimpleWorker"),
}
# A worker silent this long (seconds) is dead: its `started` jobs are retried or failed.
JOB_STALE_AFTER: int = env.int("JOB_STALE_AFTER", default=60)
# How often (seconds) the running workers reconcile records with Redis (see jobregistry/reconcile.py).
JOB_RECONCILE_INTERVAL: int = env.int("JOB_RECONCILE_INTERVAL", default=15)
# On PostgreSQL, should a worker's job-status commits wait for the WAL flush? See worker.py.
JOB_WORKER_DURABLE_COMMIT: bool = env.bool("JOB_WORKER_DURABLE_COMMIT", default=False)
# Django's Tasks API (`@task`, the django-tasks backport) runs on the job registry: every queue in
# JOB_QUEUES, one attempt per task (OPTIONS "attempts" and "backoff" change that for a backend).
TASKS = {"default": {"BACKEND": "jobregistry.tasks_backend.JobRegistryBackend"}}

# --- API ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes anonymous requests a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's own, except that ?page=abc is a 400 rather than a 404.
    "DEFAULT_PAGINATION_CLASS": "jobsite.api_pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Oversized or overfull request bodies answer in JSON like every other API error.
    "EXCEPTION_HANDLER": "jobsite.api_errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "jobsite API",
    "DESCRIPTION": "Uploads with OCR, and the named-job registry behind them.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Uploads and OCR ------------------------------------------------------------------------
OCR_ENABLED: bool = env.bool("OCR_ENABLED", default=False)
OCR_LANG: str = env.str("OCR_LANG", default="eng")
OCR_TESSERACT_CMD: str = env.str("OCR_TESSERACT_CMD", default="tesseract")
UPLOAD_MAX_BYTES: int = env.int("UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
# Decoding cost grows with pixels, not bytes: a 50 kB PNG can claim 100,000 x 100,000 pixels.
UPLOAD_MAX_PIXELS: int = env.int("UPLOAD_MAX_PIXELS", default=40_000_000)
# Frames of an animation or pages of a TIFF: each costs work even when tiny.
UPLOAD_MAX_FRAMES: int = env.int("UPLOAD_MAX_FRAMES", default=100)
FILE_UPLOAD_HANDLERS = [
    # First, so an oversized upload is refused before the handlers below keep its bytes.
    "uploads.upload_handlers.UploadSizeLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "jobregistry": {"level": env.str("JOBREGISTRY_LOG_LEVEL", default="INFO")},
        "uploads": {"level": "INFO"},
    },
}
