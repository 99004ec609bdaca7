"""Django's TaskResult, read from a JobRecord: the database answers, whatever Redis still holds.

Example:
    >>> record = JobRecord.objects.get(pk=result_id)
    >>> task_result_for(record, task_for_record(record)).status
    <TaskResultStatus.SUCCESSFUL: 'SUCCESSFUL'>
"""

from __future__ import annotations

from django_tasks.base import Task, TaskError, TaskResult, TaskResultStatus

from .models import JobAttempt, JobRecord, JobStatus
from .task_jobs import TaskCall, import_task
from .task_names import is_task_job_name

# Django's four states are coarser: everything waiting to run (again) is READY.
STATUS_FOR_TASKS = {
    JobStatus.PENDING: TaskResultStatus.READY,
    JobStatus.QUEUED: TaskResultStatus.READY,
    JobStatus.SCHEDULED: TaskResultStatus.READY,
    JobStatus.RETRYING: TaskResultStatus.READY,
    JobStatus.STARTED: TaskResultStatus.RUNNING,
    JobStatus.FINISHED: TaskResultStatus.SUCCESSFUL,
    JobStatus.FAILED: TaskResultStatus.FAILED,
    JobStatus.CANCELED: TaskResultStatus.FAILED,
}


def is_task_record(record: JobRecord) -> bool:
    """True if `record` is a job the Tasks backend enqueued (other jobs are not task results)."""
    return is_task_job_name(record.name) and isinstance(record.data, dict) and "task" in record.data


def task_for_record(record: JobRecord) -> Task:
    """The task of `record`, with the queue, priority, run_after and backend it was enqueued with."""
    call = TaskCall.from_data(record.data)
    return import_task(call.path).using(
        priority=record.priority, queue_name=record.queue, run_after=call.run_after, backend=call.backend
    )


def task_result_for(record: JobRecord, task: Task) -> TaskResult:
    """`record` as a TaskResult of `task`: one worker id per attempt, one TaskError per failed one."""
    call = TaskCall.from_data(record.data)
    # A record that never ran has no attempts; skip the query (enqueue() builds its result so).
    attempts = list(record.attempt_log.order_by("number", "started_at")) if record.attempts else []
    result: TaskResult = TaskResult(
        task=task,
        id=record.pk,
        status=STATUS_FOR_TASKS[JobStatus(record.status)],
        enqueued_at=record.enqueued_at,
        started_at=record.started_at,
        finished_at=record.finished_at,
        last_attempted_at=attempts[-1].started_at if attempts else None,
        args=call.args,
        kwargs=call.kwargs,
        backend=call.backend,
        errors=[
            TaskError(
                exception_class_path=attempt.error_type,
                # Attempts recorded before tracebacks were kept per attempt have only the message.
                traceback=attempt.error_traceback or attempt.error_message,
            )
            for attempt in attempts
            if attempt.outcome == JobAttempt.Outcome.FAILED
        ],
        worker_ids=[attempt.worker_name for attempt in attempts],
    )
    if result.status == TaskResultStatus.SUCCESSFUL:
        object.__setattr__(result, "_return_value", record.result)  # TaskResult is frozen; init=False field
    return result
