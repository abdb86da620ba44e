"""The audit trail in admin: read-only records, the latest signed tree head and the log's public
key, the old chain's checkpoints, and a "verify log" button."""

from __future__ import annotations

import base64
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from audit.admin_base import ReadOnlyAdmin, labelled_rows
from audit.heads import audit_previous_verifier_keys, audit_public_key_pem, audit_verifier_key
from audit.models import AuditCheckpoint, AuditRecord, AuditTreeHead
from audit.proofs import audit_latest_head, audit_record_proofs
from audit.sequencer import audit_pending_count
from audit.services import Actor, record_canonical
from audit.verify import audit_log_verify, audit_verification_record


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnlyAdmin):
    # One column each for the actor and the object, a long object id shortened (the whole id in
    # its title and on the record's page): seven columns with 36-character ids did not fit
    # 1,280 px, and each id wrapped over four lines.
    list_display = ("seq", "created_at", "actor", "action", "object_ref")
    # No filters that need a DISTINCT over the whole trail: find records by exact object id or action.
    list_filter = ("actor_type",)
    search_help_text = "Exact object id or action, e.g. message.status_changed."
    search_fields = ("=object_id", "=action")
    show_full_result_count = False
    # The payload shows as labelled rows ("details"), never as the JSON itself (on PostgreSQL the
    # jsonb dump happened to start with "after" and a test looking for "before" missed it).
    exclude = ("payload",)
    readonly_fields = (
        "seq",
        "created_at",
        "actor_type",
        "actor_id",
        "action",
        "object_type",
        "object_id",
        "details",
        "prev_hash",
        "hash",
        "canonical_form",
        "merkle_proof",
    )

    @admin.display(description="Actor", ordering="actor_type")
    def actor(self, obj: AuditRecord) -> str:
        return (
            f"{obj.get_actor_type_display()} {obj.actor_id}" if obj.actor_id else obj.get_actor_type_display()
        )

    @admin.display(description="Object", ordering="object_type")
    def object_ref(self, obj: AuditRecord) -> SafeString:
        whole = str(obj.object_id)
        short = whole if len(whole) <= 14 else f"{whole[:8]}…{whole[-4:]}"
        return format_html(
            '<span class="audit-object" title="{}">{} {}</span>', whole, obj.object_type, short
        )

    @admin.display(description="Details")
    def details(self, obj: AuditRecord) -> str:
        return labelled_rows(obj.payload if isinstance(obj.payload, dict) else {"value": obj.payload})

    @admin.display(description="Canonical form (what the hash covers)")
    def canonical_form(self, obj: AuditRecord) -> str:
        return record_canonical(obj)

    @admin.display(description="In the Merkle log (inclusion proof under the latest signed tree head)")
    def merkle_proof(self, obj: AuditRecord) -> str:
        head = audit_latest_head()
        proof = audit_record_proofs(record_ids=[obj.seq], head=head)[obj.seq]
        if proof.leaf_index is None:
            return "Pending: not yet sequenced into the log."
        if head is None or proof.path is None:
            return f"Leaf {proof.leaf_index}; not yet covered by a signed tree head."
        steps = "\n".join(base64.b64encode(step).decode() for step in proof.path)
        return f"Leaf {proof.leaf_index} of the tree of {head.tree_size} signed at {head.created_at:%Y-%m-%d %H:%M:%S}.\nProof:\n{steps}"

    def get_urls(self) -> list[URLPattern]:
        urls: list[URLPattern] = [
            path("verify/", self.admin_site.admin_view(self.verify_view), name="audit_auditrecord_verify"),
        ]
        return urls + super().get_urls()

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {**_log_context(), **(extra_context or {})}
        return super().changelist_view(request, context)

    def verify_view(self, request: HttpRequest) -> HttpResponse:
        """GET shows the button and the latest signed head; POST checks the whole log."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            return _verify_post(request)
        context = {
            **self.admin_site.each_context(request),
            "title": "Verify the audit log",
            "opts": self.model._meta,
            **_log_context(),
        }
        return TemplateResponse(request, "admin/audit/auditrecord/verify.html", context)


def _log_context() -> dict[str, Any]:
    return {
        "audit_head": AuditTreeHead.objects.order_by("-created_at", "-id").first(),
        "audit_pending": audit_pending_count(),
        "audit_verifier_key": audit_verifier_key(),
        "audit_public_key": audit_public_key_pem(),
        "audit_previous_keys": audit_previous_verifier_keys(),
    }


def _verify_post(request: HttpRequest) -> HttpResponse:
    report = audit_log_verify()
    audit_verification_record(report=report, actor=Actor.user(request.user.pk))
    if report.ok:
        messages.success(
            request,
            f"Audit log OK: {report.checked} records in the tree and {report.heads} signed tree heads verified.",
        )
    else:
        where = f" at record #{report.record}" if report.record is not None else ""
        messages.error(request, f"Audit log BROKEN{where}: {report.problem}.")
    return HttpResponseRedirect(reverse("admin:audit_auditrecord_verify"))


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "seq", "hash")
    show_full_result_count = False
