"""The audit log's public key, served for anyone who verifies its tree heads or evidence packs."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from audit.heads import audit_public_key_pem, audit_verifier_key


@require_GET
def public_key(request: HttpRequest) -> HttpResponse:
    """The verifier key string (C2SP signed-note form) on the first line, then the PEM key."""
    return HttpResponse(
        f"{audit_verifier_key()}\n{audit_public_key_pem()}", content_type="text/plain; charset=utf-8"
    )
