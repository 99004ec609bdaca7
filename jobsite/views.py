"""Project-level views that belong to no app."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers: answers without touching the database or Redis.

    Example:
        $ curl -s http://127.0.0.1:8000/healthz/
        {"status": "ok"}
    """
    return JsonResponse({"status": "ok"})
