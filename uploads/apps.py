"""App config for uploads: registers `ocr:process` when OCR_ENABLED is true."""

from django.apps import AppConfig
from django.conf import settings


class UploadsConfig(AppConfig):
    name = "uploads"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        if settings.OCR_ENABLED:
            from jobregistry import register_job_processor

            from .ocr import process_ocr
            from .services import OCR_JOB

            register_job_processor(OCR_JOB, process_ocr)
