"""URLs of the jobs API; the project mounts them under /api/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import JobRecordViewSet, JobTypeListView

router = SimpleRouter(trailing_slash=True)
router.register("jobs", JobRecordViewSet, basename="job")

urlpatterns = [*router.urls, path("job-types/", JobTypeListView.as_view(), name="job-types")]
