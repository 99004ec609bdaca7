"""The one Redis connection (and its RQ queues) this process uses, built by django-rq from RQ_QUEUES.

`django_rq.get_queue()` makes a new Redis client, with its own connection pool, on every call:
a TCP connection and an INFO round trip per enqueued job. Caching one client per process keeps a
single pool; redis-py pools notice a fork and reconnect in the child.

Example:
    >>> get_queue("default").count
    0
"""

from __future__ import annotations

import functools

import django_rq
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from redis import Redis
from rq import Queue


@functools.cache
def get_redis() -> Redis:
    """The shared Redis client (all queues use the same REDIS_URL)."""
    return django_rq.get_connection(next(iter(settings.RQ_QUEUES)))


@functools.cache
def get_queue(name: str) -> Queue:
    """The RQ queue `name` on the shared connection, with the serializer RQ_QUEUES gives it."""
    return django_rq.get_queue(name, connection=get_redis())


@receiver(setting_changed)
def _forget_on_settings_change(*, setting: str, **kwargs) -> None:
    if setting in {"RQ_QUEUES", "REDIS_URL", "RQ"}:
        get_redis.cache_clear()
        get_queue.cache_clear()
