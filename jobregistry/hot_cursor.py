"""The cursor for the statements run once per job: enqueue_job()'s INSERT and the worker's writes.

Django's cursors bind parameters on the client (psycopg's ClientCursor): quoting a dozen values
into the statement's text costs more than PostgreSQL takes to run these small writes. On
psycopg 3, hot_cursor() gives the cursor Django's own `server_side_binding` option would give
every query of the project, for these statements only, wrapped as Django wraps its cursors, so
query logging, execute wrappers and error translation still apply. No statement is prepared
(Django turns psycopg's preparing off), so connection poolers in transaction mode are not affected.

Other databases get connection.cursor().

Example:
    >>> with hot_cursor(transaction.get_connection()) as cursor:
    ...     cursor.execute("UPDATE jobregistry_jobrecord SET progress = %s WHERE id = %s", [50, job_id])
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# Where a database connection (Django's DatabaseWrapper, one per thread and alias) keeps its cursor.
_CACHE_ATTRIBUTE = "_jobregistry_hot_cursor"


@contextmanager
def hot_cursor(connection: Any) -> Iterator[Any]:
    """A Django cursor on `connection` that binds on the server where it can (see the module docstring).

    Unlike `with connection.cursor()`, leaving the block does not close the psycopg cursor: the
    connection keeps one for all its hot statements. A new psycopg cursor copies the connection's
    adapter map, and a cursor keeps the adapters it looked up for a statement only while it runs
    that same statement object again; so enqueue_job() passes one prebuilt INSERT string to a
    kept cursor. Side by side, that took enqueue_job() on PostgreSQL from 0.88 to 0.94 of a bare
    driver INSERT plus a raw RQ enqueue (bench/enqueue.py's floor).
    """
    if not _on_psycopg3(connection):
        with connection.cursor() as cursor:
            yield cursor
        return
    # What connection.cursor() does before it creates a cursor.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = _server_binding_cursor(connection)
    yield connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)


def _on_psycopg3(connection: Any) -> bool:
    if connection.vendor != "postgresql":
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3  # importable only with a PostgreSQL driver

    return is_psycopg3


def _server_binding_cursor(connection: Any) -> Any:
    """The connection's psycopg ServerBindingCursor, made again after a reconnect or a time zone change."""
    driver, time_zone = connection.connection, connection.timezone
    cached = getattr(connection, _CACHE_ATTRIBUTE, None)
    if cached is not None and cached[0] is driver and cached[1] is time_zone and not cached[2].closed:
        return cached[2]
    from django.db.backends.postgresql.base import TIMESTAMPTZ_OID, ServerBindingCursor
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg.pq import Format

    with connection.wrap_database_errors:
        cursor = ServerBindingCursor(driver)
    # As DatabaseWrapper.create_cursor() does: timestamps are read in the connection's time zone.
    if driver.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT).timezone != time_zone:
        register_tzloader(time_zone, cursor)
    setattr(connection, _CACHE_ATTRIBUTE, (driver, time_zone, cursor))
    return cursor
