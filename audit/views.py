"""The audit log's public key, served for anyone who verifies its tree heads or evidence packs."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from audit.heads import audit_previous_verifier_keys, audit_public_key_pem, audit_verifier_key


@require_GET
def public_key(request: HttpRequest) -> HttpResponse:
    """The verifier key string (C2SP signed-note form) on the first line, then the PEM key, then
    one line "previous <verifier key>" for each key the log signed with before a rotation."""
    previous = "".join(f"previous {key}\n" for key in audit_previous_verifier_keys())
    return HttpResponse(
        f"{audit_verifier_key()}\n{audit_public_key_pem()}{previous}",
        content_type="text/plain; charset=utf-8",
    )
