"""Query filters for /api/jobs/: ?name=ocr:process&status=failed&queue=default."""

from __future__ import annotations

import django_filters

from ..models import JobRecord, JobStatus


class JobRecordFilter(django_filters.FilterSet):
    name = django_filters.CharFilter()
    status = django_filters.ChoiceFilter(choices=JobStatus.choices)
    queue = django_filters.CharFilter()

    class Meta:
        model = JobRecord
        fields = ("name", "status", "queue")
