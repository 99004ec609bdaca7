"""Pages for people: their uploads, the upload form, one upload with live OCR status, the file."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from .forms import UploadForm
from .models import OCR_FINAL_STATUSES, Upload
from .services import create_upload
from .serving import file_response
from .upload_handlers import upload_refusal


def visible_uploads(request: HttpRequest) -> QuerySet[Upload]:
    """Uploads the user may see: their own; staff see everyone's."""
    uploads = Upload.objects.select_related("ocr_job", "owner")
    return uploads if request.user.is_staff else uploads.filter(owner=request.user)


def get_visible_upload(request: HttpRequest, pk: int) -> Upload:
    # Another user's upload is a 404, not a 403: its existence is not theirs to know.
    try:
        return visible_uploads(request).get(pk=pk)
    except Upload.DoesNotExist:
        raise Http404("No such upload.") from None


@login_required
@require_safe
def upload_list(request: HttpRequest) -> HttpResponse:
    uploads = Upload.objects.filter(owner=request.user).select_related("ocr_job")[:200]
    return render(request, "uploads/list.html", {"uploads": uploads})


@login_required
@require_http_methods(["GET", "POST"])
def upload_new(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render(request, "uploads/new.html", {"form": UploadForm()})
    form = UploadForm(request.POST, request.FILES, refusal=upload_refusal(request))
    if form.is_valid():
        upload = create_upload(owner=request.user, file=form.cleaned_data["file"], info=form.image_info)
        return redirect(upload)
    status = 413 if form.refusal is not None else 200
    return render(request, "uploads/new.html", {"form": form}, status=status)


@login_required
@require_safe
def upload_detail(request: HttpRequest, pk: int) -> HttpResponse:
    upload = get_visible_upload(request, pk)
    return render(request, "uploads/detail.html", {"upload": upload, "status": ocr_status_payload(upload)})


@login_required
@require_safe
def upload_status(request: HttpRequest, pk: int) -> JsonResponse:
    """The OCR state the detail page polls until it is final."""
    return JsonResponse(ocr_status_payload(get_visible_upload(request, pk)))


@login_required
@require_safe
def upload_file(request: HttpRequest, pk: int) -> FileResponse:
    """The image itself, only to its owner and staff; never from a public media URL."""
    return file_response(get_visible_upload(request, pk))


def ocr_status_payload(upload: Upload) -> dict:
    job = upload.ocr_job
    return {
        "id": upload.pk,
        "ocr_status": upload.ocr_status,
        "ocr_status_display": upload.get_ocr_status_display(),
        "ocr_text": upload.ocr_text,
        "ocr_error": upload.ocr_error,
        "final": upload.ocr_status in OCR_FINAL_STATUSES,
        "job": None
        if job is None
        else {
            "id": job.pk,
            "status": job.status,
            "attempts": job.attempts,
            "max_attempts": job.max_attempts,
            "progress": job.progress,
            "progress_message": job.progress_message,
        },
    }
