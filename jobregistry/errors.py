"""Exceptions raised by jobregistry, all subclasses of JobRegistryError.

Example:
    >>> try:
    ...     enqueue_job("nope:nothing", {})
    ... except UnknownJobType as exc:
    ...     print(exc)
"""


class JobRegistryError(Exception):
    """Base class of every error jobregistry raises on purpose."""


class InvalidJobName(JobRegistryError, ValueError):
    """A job name does not follow the `<feature>:<action>` rule."""


class DuplicateJobProcessor(JobRegistryError):
    """A second, different function was registered under a name already taken."""


class UnknownJobType(JobRegistryError, LookupError):
    """No processor is registered under the requested name."""


class InvalidJobData(JobRegistryError, TypeError):
    """A payload (or a result) is not made of JSON values."""


class InvalidJobOptions(JobRegistryError, ValueError):
    """attempts, backoff, delay, queue or job_id are out of range or malformed."""


class JobStateError(JobRegistryError):
    """The job is in a state that does not allow the action (e.g. retrying a finished job).

    `status` is the state the job was found in (None if there is no such job), so callers that
    act on many jobs can say why they skipped each one.

    Example:
        >>> JobStateError("Job a1 is finished; only failed jobs can be retried.", status="finished").status
        'finished'
    """

    def __init__(self, message: str, *, status: str | None = None) -> None:
        super().__init__(message)
        self.status = status


class DuplicateRelatedObjectResolver(JobRegistryError):
    """A second, different related-object resolver was registered for a job name already taken."""


class PermanentJobError(JobRegistryError):
    """Raise from a processor to fail the job at once, skipping any retries left.

    Example:
        >>> raise PermanentJobError("upload 42 no longer exists")
    """


class NotARegistryJob(JobRegistryError):
    """An RQ job that does not call jobregistry's dispatcher; workers refuse to import or run it.

    Example:
        A job pushed into Redis by hand that names `os.system` fails with this error, unrun.
    """


class WorkerLost(JobRegistryError):
    """The worker running an attempt died (killed, out of memory, host lost) before it could record the outcome.

    Never raised: it names the error recorded on the attempt, e.g.
    `jobregistry.errors.WorkerLost: The work horse of worker w1 was killed by SIGKILL while running this job.`
    """


def error_type_name(exc_type: type[BaseException]) -> str:
    """The dotted name stored in JobRecord.error_type, e.g. 'jobregistry.errors.WorkerLost'."""
    return f"{exc_type.__module__}.{exc_type.__qualname__}"
