"""Links from a job record to the same job in django-rq's dashboard, inside the admin.

django-rq registers its views under /admin/django_rq/dashboard/ and numbers queues by their
position in the sorted RQ_QUEUES. The dashboard can only show what Redis still holds (results
expire after a day), so the link is offered only while Redis has the job.

Example:
    >>> rq_dashboard_url(record)
    '/admin/django_rq/dashboard/queues/0/a1b2c3/'
"""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django_rq.settings import get_queues_map

from .models import JobRecord
from .transport import redis_holds

JOB_DETAIL_URL_NAME = "admin:django_rq_job_detail"


def rq_dashboard_url(record: JobRecord) -> str | None:
    """The dashboard page of `record`'s RQ job, or None if its queue is unknown or Redis forgot it.

    Raises RedisError if Redis does not answer.
    """
    index = get_queues_map().get(record.queue)
    if index is None:
        return None
    try:
        # Off when RQ_SHOW_ADMIN_LINK is false: django-rq then registers no admin views.
        url = reverse(JOB_DETAIL_URL_NAME, args=[index, record.pk])
    except NoReverseMatch:
        return None
    return url if redis_holds(record.queue, record.pk) else None
