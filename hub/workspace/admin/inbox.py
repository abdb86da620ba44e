"""The inbox: every inbound SMS and email, those from unknown senders first to hand.

Support reads a message and its conversation, links an unknown sender to a contact, replies
(``hub.contacts.conversations.conversation_reply``: a transactional ``support.reply`` through
the intake), and in sandbox mode simulates a contact texting us. Each POST needs its own
permission (``contacts.reply_inboundmessage``, ``link_inboundmessage``,
``simulate_inboundmessage``); a GET of those URLs only leads back to a page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme

from audit.admin_base import ReadOnlyAdmin
from hub.contacts.conversations import (
    REPLY_REFERENCE_PREFIX,
    ConversationRefused,
    conversation_reply,
    inbound_link_contact,
    inbound_simulate_sms,
    sms_in_sandbox,
)
from hub.contacts.models import Contact, InboundMessage
from hub.messaging.intake import NotificationRejected
from hub.messaging.models import Message

THREAD_LIMIT = 50
CHANNEL_NAMES = {"sms": "SMS", "email": "Email"}


class SenderFilter(admin.SimpleListFilter):
    title = "sender"
    parameter_name = "sender"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("unknown", "Unknown sender (to link)"), ("known", "A contact")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "unknown":
            return queryset.filter(contact__isnull=True)
        if self.value() == "known":
            return queryset.filter(contact__isnull=False)
        return queryset


@admin.register(InboundMessage)
class InboxAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "channel", "sender", "excerpt", "answers_template", "keyword_shown")
    list_filter = (SenderFilter, "channel", "keyword")
    search_fields = ("=contact__external_id",)
    search_help_text = "Exact external id of the contact."
    list_select_related = ("contact",)
    show_full_result_count = False

    @admin.display(description="from")
    def sender(self, obj: InboundMessage) -> str:
        return obj.contact.external_id if obj.contact else f"Unknown sender {obj.from_address}"

    @admin.display(description="message")
    def excerpt(self, obj: InboundMessage) -> str:
        text = obj.subject + (": " if obj.subject else "") + obj.body
        return text if len(text) <= 80 else text[:79] + "…"

    @admin.display(description="keyword")
    def keyword_shown(self, obj: InboundMessage) -> str:
        return obj.get_keyword_display() if obj.keyword else ""

    @admin.display(description="answers")
    def answers_template(self, obj: InboundMessage) -> str:
        return str(obj.answers_id or "—")

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path("simulate/", wrap(self.simulate_view), name=f"{name}_simulate"),
            path("<path:object_id>/reply/", wrap(self.reply_view), name=f"{name}_reply"),
            path("<path:object_id>/link/", wrap(self.link_view), name=f"{name}_link"),
            *super().get_urls(),
        ]

    # ---- pages ----------------------------------------------------------------------------

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        inbound = self._inbound(object_id)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{CHANNEL_NAMES.get(inbound.channel, inbound.channel)} message from "
            f"{inbound.contact.external_id if inbound.contact else 'an unknown sender'}",
            "opts": self.opts,
            "inbound": inbound,
            "thread": conversation_thread(inbound),
            "can_reply": request.user.has_perm("contacts.reply_inboundmessage") and inbound.contact_id,
            "can_link": request.user.has_perm("contacts.link_inboundmessage") and not inbound.contact_id,
        }
        return TemplateResponse(request, "workspace/inbound.html", context)

    def reply_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not request.user.has_perm("contacts.reply_inboundmessage"):
            raise PermissionDenied
        inbound = self._inbound(object_id)
        back = self._back(request, inbound)
        if request.method != "POST":
            return HttpResponseRedirect(back)
        try:
            notification = conversation_reply(
                inbound=inbound,
                body=request.POST.get("body", ""),
                subject=request.POST.get("subject", ""),
                user=request.user,
            )
        except (ConversationRefused, NotificationRejected) as refused:
            messages.error(request, f"Not sent: {refused.detail}")
            return HttpResponseRedirect(back)
        for message in notification.messages.all():
            outcome = message.status + (f" ({message.block_reason})" if message.block_reason else "")
            level = messages.SUCCESS if not message.block_reason else messages.WARNING
            messages.add_message(request, level, f"Reply by {message.channel}: {outcome}.")
        return HttpResponseRedirect(back)

    def link_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not request.user.has_perm("contacts.link_inboundmessage"):
            raise PermissionDenied
        inbound = self._inbound(object_id)
        back = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[inbound.pk])
        if request.method != "POST":
            return HttpResponseRedirect(back)
        try:
            contact = inbound_link_contact(
                inbound=inbound, external_id=request.POST.get("external_id", ""), user=request.user
            )
        except ConversationRefused as refused:
            messages.error(request, refused.detail)
        else:
            messages.success(request, f"Linked to {contact.external_id}.")
        return HttpResponseRedirect(back)

    def simulate_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("contacts.simulate_inboundmessage"):
            raise PermissionDenied
        contact_id = request.POST.get("contact") or request.GET.get("contact", "")
        contact = Contact.objects.filter(pk=contact_id).first() if contact_id.isdigit() else None
        if request.method == "POST":
            if contact is None:
                messages.error(request, "Choose a contact.")
            else:
                try:
                    outcome = inbound_simulate_sms(
                        contact=contact, body=request.POST.get("body", ""), user=request.user
                    )
                except ConversationRefused as refused:
                    messages.error(request, refused.detail)
                else:
                    what = outcome.inbound.get_keyword_display() if outcome.keyword else "a reply"
                    messages.success(request, f"Simulated an SMS from {contact.external_id}: {what}.")
            if contact is not None:
                return HttpResponseRedirect(
                    reverse("admin:workspace_contacttimeline_change", args=[contact.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": "Simulate an inbound SMS (sandbox)",
            "opts": self.opts,
            "contact": contact,
            "sandbox": sms_in_sandbox(),
        }
        return TemplateResponse(request, "workspace/inbound_simulate.html", context)

    # ---- helpers --------------------------------------------------------------------------

    def _inbound(self, object_id: str) -> InboundMessage:
        inbound = (
            InboundMessage.objects.select_related("contact").filter(pk=object_id).first()
            if str(object_id).isdigit()
            else None
        )
        if inbound is None:
            raise Http404("No such inbound message.")
        return inbound

    def _back(self, request: HttpRequest, inbound: InboundMessage) -> str:
        wanted = request.POST.get("next") or request.GET.get("next", "")
        if wanted and url_has_allowed_host_and_scheme(
            wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return wanted
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[inbound.pk])


def conversation_thread(inbound: InboundMessage) -> list[dict[str, Any]]:
    """The conversation around ``inbound``, oldest first: its inbound messages and our replies
    (notifications referenced ``conversation:<id>``), at most THREAD_LIMIT of each."""
    if inbound.conversation_id is None:
        return [{"at": inbound.received_at, "inbound": inbound}]
    entries: list[dict[str, Any]] = [
        {"at": i.received_at, "inbound": i}
        for i in InboundMessage.objects.filter(conversation_id=inbound.conversation_id).order_by(
            "-received_at"
        )[:THREAD_LIMIT]
    ]
    replies = (
        Message.objects.filter(
            notification__contact_id=inbound.contact_id,  # indexed; a reply always has a contact
            notification__reference=f"{REPLY_REFERENCE_PREFIX}{inbound.conversation_id}",
        ).order_by("-created_at")[:THREAD_LIMIT]
        if inbound.contact_id
        else []
    )
    entries += [{"at": m.created_at, "reply": m} for m in replies]
    entries.sort(key=lambda e: e["at"])
    return entries
