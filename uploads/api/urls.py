"""URLs of the uploads API; the project mounts them under /api/."""

from rest_framework.routers import SimpleRouter

from .views import UploadViewSet

router = SimpleRouter(trailing_slash=True)
router.register("uploads", UploadViewSet, basename="upload")

urlpatterns = router.urls
