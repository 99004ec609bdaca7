"""Is a worker alive, and is it running a given job? Read from the worker's hash in Redis.

RQ keeps a hash per worker (`rq:worker:<name>`) with its last heartbeat and, once it stops cleanly,
its death. jobregistry's workers also write the id of the job they are running into that hash on
every heartbeat (CURRENT_JOB_FIELD), so the answer survives even if Redis lost its other keys.
For plain RQ workers, which do not write that field, the worker's execution set is read instead.

Example:
    >>> is_running(conn, "worker-1", "a1b2c3", stale_after=60)
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from redis import Redis
from rq.executions import WORKER_EXECUTIONS_KEY_TEMPLATE
from rq.utils import as_text, now, utcparse
from rq.worker import BaseWorker

CURRENT_JOB_FIELD = "jobregistry_current_job"


def worker_key(name: str) -> str:
    return f"{BaseWorker.redis_worker_namespace_prefix}{name}"


@dataclass(frozen=True)
class WorkerSighting:
    """What Redis says about one worker."""

    name: str
    last_heartbeat: datetime | None
    stopped: bool
    job_ids: frozenset[str]

    def alive(self, stale_after: float, at: datetime | None = None) -> bool:
        """Registered, not stopped, and heard from within `stale_after` seconds."""
        if self.stopped or self.last_heartbeat is None:
            return False
        return (at or now()) - self.last_heartbeat <= timedelta(seconds=stale_after)


def look_up(conn: Redis, name: str) -> WorkerSighting:
    """Read worker `name` from Redis; a worker Redis does not know is returned as never heard from."""
    if not name:
        return WorkerSighting(name, None, False, frozenset())
    data = {as_text(k): as_text(v) for k, v in conn.hgetall(worker_key(name)).items()}
    heartbeat = utcparse(data["last_heartbeat"]) if data.get("last_heartbeat") else None
    if CURRENT_JOB_FIELD in data:
        job_ids = frozenset({data[CURRENT_JOB_FIELD]} - {""})
    else:  # a plain RQ worker: its execution set holds "<job id>:<execution id>" members
        members = conn.smembers(WORKER_EXECUTIONS_KEY_TEMPLATE.format(name))
        job_ids = frozenset(as_text(member).split(":", 1)[0] for member in members)
    return WorkerSighting(name, heartbeat, "death" in data, job_ids)


def is_running(conn: Redis, worker_name: str, job_id: str, *, stale_after: float) -> bool:
    """True if worker `worker_name` is alive and busy with job `job_id`."""
    sighting = look_up(conn, worker_name)
    return sighting.alive(stale_after) and job_id in sighting.job_ids
