"""Production settings: the site refuses to start without what it needs, and `check --deploy` is clean.

Each case starts `manage.py` in a subprocess with a clean environment (ENV_FILE empty, so no
.env is read) holding only the variables the case names, exactly as a deployment would.
Static files with DEBUG off (WhiteNoise, after collectstatic) are checked in-process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, override_settings

from .reporting import report

BASE_DIR = Path(__file__).resolve().parent.parent
GOOD_KEY = "k8Zq3-Vd2pLx9Wm4Rt7Yb1Nc6Hs0Jf5Ga8Ue2Io4Pw7Qy3Tz6Xr1Lm9Kd5Sb0Fh"  # 64 characters, made up for tests
TABLE = "Production settings (manage.py in a clean environment)"
HEADER = ("environment", "exit", "outcome")


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    """Run manage.py with only `env` (plus PATH, and no .env file); the timeout only stops a hang."""
    clean = {"PATH": os.environ["PATH"], "ENV_FILE": "", "DJANGO_SETTINGS_MODULE": "jobsite.settings", **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=clean, capture_output=True, text=True, timeout=300
    )


def production(**overrides: str) -> dict[str, str]:
    return {"DEBUG": "false", "SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "jobs.example.com", **overrides}


REFUSALS = {
    "no SECRET_KEY": (
        {"DEBUG": "false", "ALLOWED_HOSTS": "jobs.example.com"},
        "SECRET_KEY must be set when DEBUG is off; make one with: "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(50))' (or set DEBUG=true for local development).",
    ),
    "a django-insecure key": (
        production(SECRET_KEY="django-insecure-" + GOOD_KEY),
        "SECRET_KEY starts with 'django-insecure', which marks a development-only key; use a real one when "
        "DEBUG is off: make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(50))'.",
    ),
    "a 20-character key": (
        production(SECRET_KEY=GOOD_KEY[:20]),
        "SECRET_KEY is too weak: 20 characters, 20 different; it needs at least 50 characters and 5 different "
        "ones; make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(50))'.",
    ),
    "a 60-character key of 2 letters": (
        production(SECRET_KEY="ab" * 30),
        "SECRET_KEY is too weak: 60 characters, 2 different; it needs at least 50 characters and 5 different "
        "ones; make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(50))'.",
    ),
    "no ALLOWED_HOSTS": (
        {"DEBUG": "false", "SECRET_KEY": GOOD_KEY},
        "ALLOWED_HOSTS must be set when DEBUG is off: the host names this site answers to, comma-separated, "
        "e.g. ALLOWED_HOSTS=jobs.example.com,www.jobs.example.com.",
    ),
    "ALLOWED_HOSTS of blanks": (
        production(ALLOWED_HOSTS=" , "),
        "ALLOWED_HOSTS must be set when DEBUG is off: the host names this site answers to, comma-separated, "
        "e.g. ALLOWED_HOSTS=jobs.example.com,www.jobs.example.com.",
    ),
    "a proxy header that is no header": (
        production(SECURE_PROXY_SSL_HEADER="X Forwarded Proto!"),
        "SECURE_PROXY_SSL_HEADER='X Forwarded Proto!' is not a header name; use e.g. X-Forwarded-Proto "
        "(the header your proxy sets to 'https'), or X-Forwarded-Ssl: on.",
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_with_debug_off_the_site_refuses_to_start_without_a_real_key_and_hosts(case):
    env, message = REFUSALS[case]
    result = manage("check", **env)
    assert result.returncode == 1
    assert f"django.core.exceptions.ImproperlyConfigured: {message}" in result.stderr, result.stderr[-2000:]
    report(TABLE, HEADER, f"DEBUG=false, {case}", result.returncode, message)


def test_check_deploy_is_clean_for_the_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **production())
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."
    assert result.stderr == ""
    report(TABLE, HEADER, "DEBUG=false, a real key, ALLOWED_HOSTS: check --deploy", 0, result.stdout.strip())


def test_with_debug_on_nothing_else_is_needed():
    # What bin/up's .env gives a developer (it also writes a random key; none is needed).
    result = manage("check", DEBUG="true")
    assert result.returncode == 0, result.stderr
    report(TABLE, HEADER, "DEBUG=true only: check", 0, result.stdout.strip())


SECURITY_SETTINGS = [
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "X_FRAME_OPTIONS",
]


def settings_in(**env: str) -> dict:
    code = (
        "import json; from django.conf import settings as s; "
        f"print(json.dumps({{n: getattr(s, n) for n in {SECURITY_SETTINGS!r}}}))"
    )
    result = manage("shell", "-v0", "-c", code, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_https_settings_are_on_in_production_off_in_development_and_switchable():
    on = settings_in(**production())
    assert on == {
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_PROXY_SSL_HEADER": None,
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "X_FRAME_OPTIONS": "DENY",
    }
    off = settings_in(DEBUG="true")
    assert not any(off[name] for name in SECURITY_SETTINGS[:7])
    behind_a_proxy = settings_in(
        **production(SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto", SECURE_HSTS_SECONDS="3600", SECURE_HSTS_PRELOAD="no")
    )
    assert behind_a_proxy["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert (behind_a_proxy["SECURE_HSTS_SECONDS"], behind_a_proxy["SECURE_HSTS_PRELOAD"]) == (3600, False)
    assert settings_in(**production(SECURE_PROXY_SSL_HEADER="X-Forwarded-Ssl: on"))["SECURE_PROXY_SSL_HEADER"] == [
        "HTTP_X_FORWARDED_SSL",
        "on",
    ]
    report(TABLE, HEADER, "DEBUG=false: HTTPS settings", 0, json.dumps(on)[:100] + "...")


@pytest.mark.django_db
@override_settings(SECURE_SSL_REDIRECT=True, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_behind_a_proxy_https_is_known_from_its_header():
    client = Client()
    plain = client.get("/accounts/login/")
    assert plain.status_code == 301 and plain["Location"] == "https://testserver/accounts/login/"
    proxied = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    assert proxied.status_code == 200
    assert proxied["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


@pytest.mark.django_db
def test_with_debug_off_whitenoise_serves_the_collected_static_files(tmp_path):
    result = manage("collectstatic", "--noinput", "-v0", **production(STATIC_ROOT=str(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "admin" / "css" / "base.css.gz").exists()  # compressed copies for WhiteNoise

    with override_settings(STATIC_ROOT=tmp_path):
        client = Client()  # a new client builds the middleware, which reads STATIC_ROOT
        admin_page = client.get("/admin/login/").content.decode()
        assert "/static/admin/css/base.css" in admin_page
        css = client.get("/static/admin/css/base.css")
        assert css.status_code == 200
        assert css["Content-Type"].startswith("text/css")
        assert b"".join(css.streaming_content) == (tmp_path / "admin" / "css" / "base.css").read_bytes()
        gz = client.get("/static/admin/css/base.css", HTTP_ACCEPT_ENCODING="gzip")
        assert gz["Content-Encoding"] == "gzip"
        assert client.get("/static/jobsite/site.css").status_code == 200
        assert client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js").status_code == 200
        assert client.get("/static/../manage.py").status_code == 404
    report(TABLE, HEADER, "DEBUG=false: collectstatic, then /static/admin/css/base.css", 0, "200 text/css (gzip too)")
