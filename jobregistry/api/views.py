"""The jobs API: list and read job records, retry and cancel them, list job types.

Staff see every job; other users see the jobs they own (`enqueue_job(..., owner=user)`).
Retry and cancel need staff status and the `jobregistry.change_jobrecord` permission, as in the admin.
"""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..actions import cancel_job, retry_job
from ..errors import JobStateError
from ..models import JobRecord
from ..registry import registry
from .filters import JobRecordFilter
from .serializers import JobRecordDetailSerializer, JobRecordSerializer, JobTypeSerializer


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The job is not in a state that allows this."
    default_code = "conflict"


class CanChangeJobs(permissions.BasePermission):
    message = "Retrying and canceling jobs needs staff status and the permission to change job records."

    def has_permission(self, request: Request, view) -> bool:
        user = request.user
        return bool(user and user.is_staff and user.has_perm("jobregistry.change_jobrecord"))


def visible_jobs(user) -> QuerySet[JobRecord]:
    records = JobRecord.objects.all()
    return records if user.is_staff else records.filter(owner=user)


class JobRecordViewSet(viewsets.ReadOnlyModelViewSet):
    """Job records, newest first; filter with ?name=, ?status=, ?queue=."""

    queryset = JobRecord.objects.none()  # for the schema generator; get_queryset() decides
    filterset_class = JobRecordFilter
    lookup_value_regex = r"[A-Za-z0-9_-]+"

    def get_queryset(self) -> QuerySet[JobRecord]:
        jobs = visible_jobs(self.request.user).order_by("-enqueued_at", "-pk")
        if self.action != "list":
            jobs = jobs.prefetch_related("attempt_log")
        return jobs

    def get_serializer_class(self):
        return JobRecordSerializer if self.action == "list" else JobRecordDetailSerializer

    def _act(self, func) -> Response:
        record = self.get_object()  # 404 for a job the caller cannot see
        try:
            record = func(record.pk)
        except JobStateError as exc:
            raise Conflict(str(exc)) from None
        return Response(JobRecordDetailSerializer(record, context=self.get_serializer_context()).data)

    @extend_schema(
        request=None,
        responses={
            200: JobRecordDetailSerializer,
            409: OpenApiResponse(description="The job is not failed or canceled."),
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[CanChangeJobs])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        """Run a failed or canceled job again, attempts reset; its attempt log is kept."""
        return self._act(retry_job)

    @extend_schema(
        request=None,
        responses={200: JobRecordDetailSerializer, 409: OpenApiResponse(description="The job has already started.")},
    )
    @action(detail=True, methods=["post"], permission_classes=[CanChangeJobs])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Cancel a pending, queued, scheduled or retrying job so it will not run."""
        return self._act(cancel_job)


class JobTypeListView(APIView):
    """Registered job types and their queues."""

    @extend_schema(responses=JobTypeSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(JobTypeSerializer(registry.all(), many=True).data)
