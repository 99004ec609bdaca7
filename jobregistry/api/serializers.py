"""DRF serializers for job records and job types.

Example:
    >>> JobRecordDetailSerializer(record).data["status"]
    'finished'
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import JobAttempt, JobRecord

LIST_FIELDS = (
    "id",
    "name",
    "queue",
    "status",
    "attempts",
    "max_attempts",
    "progress",
    "progress_message",
    "enqueued_at",
    "started_at",
    "finished_at",
)


class JobAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = JobAttempt
        fields = ("number", "outcome", "started_at", "finished_at", "worker_name", "error_type", "error_message")
        read_only_fields = fields


class JobRecordSerializer(serializers.ModelSerializer):
    """A job in a list: what it is and how far it got."""

    class Meta:
        model = JobRecord
        fields = LIST_FIELDS
        read_only_fields = fields


class JobRecordDetailSerializer(serializers.ModelSerializer):
    """The full record: payload, result, error and every attempt."""

    data = serializers.JSONField(read_only=True)
    result = serializers.JSONField(read_only=True, allow_null=True)
    backoff = serializers.JSONField(read_only=True, allow_null=True)
    attempt_log = JobAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = JobRecord
        fields = (
            *LIST_FIELDS,
            "data",
            "result",
            "backoff",
            "error_type",
            "error_message",
            "error_traceback",
            "scheduled_for",
            "updated_at",
            "worker_name",
            "attempt_log",
        )
        read_only_fields = fields


class JobTypeSerializer(serializers.Serializer):
    name = serializers.CharField(read_only=True)
    queue = serializers.CharField(read_only=True)
    description = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField())
    def get_description(self, job_type) -> str:
        doc = (job_type.func.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""
