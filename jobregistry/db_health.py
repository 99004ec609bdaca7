"""A job's first database statement doubles as the connection's health check.

With CONN_HEALTH_CHECKS, Django sends `SELECT 1` on a reused connection before its first query
after close_old_connections(): on PostgreSQL one more round trip per job, as costly as a no-op
job's started write. A worker instead sends the job's first statement straight away and, only if
it fails because the connection died since the last job (a database restart), reconnects and
sends it once more. So a restart between jobs still costs no job, and a healthy connection costs
nothing extra.

Example:
    >>> attempt = run_first_statement(lambda: records.start_attempt(job_id, ...))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections

T = TypeVar("T")


def run_first_statement(run: Callable[[], T], using: str = DEFAULT_DB_ALIAS) -> T:
    """Call `run` (whose first query must be safe to send twice) in place of Django's pending health check."""
    connection = connections[using]
    check_pending = (
        connection.connection is not None and connection.health_check_enabled and not connection.health_check_done
    )
    if check_pending:
        connection.health_check_done = True  # `run` is the check
    try:
        return run()
    except (OperationalError, InterfaceError):
        # Only a dead reused connection, outside anyone's transaction, is worth a second try.
        if not check_pending or connection.in_atomic_block:
            raise
        if connection.connection is not None and connection.is_usable():
            raise  # the connection is fine: the error is the statement's own
        connection.close()
        return run()
