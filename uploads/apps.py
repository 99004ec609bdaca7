"""App config for uploads: registers `ocr:process` when OCR_ENABLED is true, and its related-object link."""

from django.apps import AppConfig
from django.conf import settings


class UploadsConfig(AppConfig):
    name = "uploads"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from jobregistry import register_job_processor, register_related_object_resolver

        from .related import upload_for_job
        from .services import OCR_JOB

        # Always: records of OCR jobs outlive the setting that enqueued them.
        register_related_object_resolver(OCR_JOB, upload_for_job)
        if settings.OCR_ENABLED:
            from .ocr import process_ocr

            register_job_processor(OCR_JOB, process_ocr)
