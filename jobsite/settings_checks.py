"""Checks that settings.py runs on values from the environment, so a bad deployment fails at start-up.

Each function returns the value to use or raises ImproperlyConfigured with a message that says
what to set. They need no Django set-up: settings.py calls them while it is being imported.

Example:
    >>> require_secret_key("", debug=False, dev_default="django-insecure-dev")
    Traceback (most recent call last):
      ...
    django.core.exceptions.ImproperlyConfigured: SECRET_KEY must be set when DEBUG is off ...
"""

from __future__ import annotations

import re

from django.core.exceptions import ImproperlyConfigured

# What Django's own deploy check (security.W009) calls a weak key.
MIN_SECRET_KEY_LENGTH = 50
MIN_SECRET_KEY_UNIQUE_CHARACTERS = 5
INSECURE_PREFIX = "django-insecure"
_MAKE_A_KEY = "make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]+$")


def require_secret_key(key: str, *, debug: bool, dev_default: str) -> str:
    """The SECRET_KEY to use: with DEBUG on, `dev_default` stands in for a missing key; with DEBUG off,
    a missing, development-only or weak key stops the site from starting."""
    if debug:
        return key or dev_default
    if not key:
        raise ImproperlyConfigured(
            f"SECRET_KEY must be set when DEBUG is off; {_MAKE_A_KEY} (or set DEBUG=true for local development)."
        )
    if key.startswith(INSECURE_PREFIX):
        raise ImproperlyConfigured(
            f"SECRET_KEY starts with {INSECURE_PREFIX!r}, which marks a development-only key; "
            f"use a real one when DEBUG is off: {_MAKE_A_KEY}."
        )
    if len(key) < MIN_SECRET_KEY_LENGTH or len(set(key)) < MIN_SECRET_KEY_UNIQUE_CHARACTERS:
        raise ImproperlyConfigured(
            f"SECRET_KEY is too weak: {len(key)} characters, {len(set(key))} different; it needs at least "
            f"{MIN_SECRET_KEY_LENGTH} characters and {MIN_SECRET_KEY_UNIQUE_CHARACTERS} different ones; {_MAKE_A_KEY}."
        )
    return key


def require_allowed_hosts(hosts: list[str], *, debug: bool) -> list[str]:
    """ALLOWED_HOSTS, which may be empty only with DEBUG on (Django then allows the local names)."""
    hosts = [host.strip() for host in hosts if host.strip()]
    if not hosts and not debug:
        raise ImproperlyConfigured(
            "ALLOWED_HOSTS must be set when DEBUG is off: the host names this site answers to, "
            "comma-separated, e.g. ALLOWED_HOSTS=jobs.example.com,www.jobs.example.com."
        )
    return hosts


def proxy_ssl_header(value: str) -> tuple[str, str] | None:
    """SECURE_PROXY_SSL_HEADER from `Header-Name` or `Header-Name: value` (the value defaults to https).

    Example:
        >>> proxy_ssl_header("X-Forwarded-Proto")
        ('HTTP_X_FORWARDED_PROTO', 'https')
    """
    if not value.strip():
        return None
    name, _, expected = value.partition(":")
    name, expected = name.strip(), expected.strip() or "https"
    if not _HEADER_NAME.match(name):
        raise ImproperlyConfigured(
            f"SECURE_PROXY_SSL_HEADER={value!r} is not a header name; use e.g. X-Forwarded-Proto "
            "(the header your proxy sets to 'https'), or X-Forwarded-Ssl: on."
        )
    return f"HTTP_{name.upper().replace('-', '_')}", expected
