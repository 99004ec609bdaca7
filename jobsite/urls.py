"""Top-level URLs: the uploads pages, sign-in, the API, the admin (with django-rq's dashboard inside it)."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from .views import healthz

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="uploads:list"), name="home"),
    path("uploads/", include("uploads.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("jobsite.api_urls")),
    path("healthz/", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("django-rq/", include("django_rq.urls")),
]
