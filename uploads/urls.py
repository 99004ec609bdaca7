from django.urls import path

from . import views

app_name = "uploads"

urlpatterns = [
    path("", views.upload_list, name="list"),
    path("new/", views.upload_new, name="new"),
    path("<int:pk>/", views.upload_detail, name="detail"),
    path("<int:pk>/status/", views.upload_status, name="status"),
    path("<int:pk>/file/", views.upload_file, name="file"),
]
