"""Admin for contacts (support sees one person in one place) and suppressions (compliance
adds and lifts them; lifting needs the Compliance group's permission and is audited)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.admin_base import ReadOnlyAdmin, labelled_json
from audit.services import Actor
from hub.contacts.masking import address_masked, addresses_visible
from hub.contacts.models import ConsentEntry, Contact, Device, Suppression, SuppressionReason
from hub.contacts.services import suppression_add, suppression_lift
from hub.contacts.validation import normalise_email, normalise_phone


class _ReadOnlyInline(admin.TabularInline[Any, Contact]):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class DeviceInline(_ReadOnlyInline):
    model = Device
    fields = ("kind", "token", "created_at", "removed_at")
    readonly_fields = fields


class ConsentEntryInline(_ReadOnlyInline):
    model = ConsentEntry
    fields = ("created_at", "channel", "purpose", "granted", "source", "evidence_rows")
    readonly_fields = fields
    ordering = ("-created_at", "-id")
    evidence_rows = labelled_json("evidence", "evidence")


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    """Contacts arrive through the API (or a CRM sync) and leave only by erasure: a plain
    delete would cascade away the consent ledger, keep the person's addresses in messages and
    leave no audit record."""

    list_display = ("external_id", "email", "phone", "locale", "timezone", "updated_at")
    search_fields = ("external_id", "email", "phone")
    show_full_result_count = False
    inlines = [DeviceInline, ConsentEntryInline]
    actions = ["erase_selected"]
    exclude = ("attributes",)
    readonly_fields = ("attributes_rows",)
    attributes_rows = labelled_json("attributes", "attributes")

    # Addresses in full only for those who may see them (contacts.view_contact_addresses);
    # the others read them masked, on the list and the contact's page alike.
    MASKED = {"email": "email_masked", "phone": "phone_masked"}

    def get_list_display(self, request: HttpRequest) -> Any:
        shown = super().get_list_display(request)
        return shown if addresses_visible(request.user) else [self._masked(f) for f in shown]

    def get_fields(self, request: HttpRequest, obj: Contact | None = None) -> Any:
        fields = super().get_fields(request, obj)
        return fields if addresses_visible(request.user) else [self._masked(f) for f in fields]

    def _masked(self, name: Any) -> Any:
        return self.MASKED.get(name, name) if isinstance(name, str) else name

    def get_readonly_fields(self, request: HttpRequest, obj: Contact | None = None) -> Any:
        return (*super().get_readonly_fields(request, obj), *self.MASKED.values())

    @admin.display(description="email")
    def email_masked(self, obj: Contact) -> str:
        return address_masked(obj.email)

    @admin.display(description="phone")
    def phone_masked(self, obj: Contact) -> str:
        return address_masked(obj.phone)

    def has_erase_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("contacts.erase_contact")

    @admin.action(description="Erase the selected contacts (right to erasure)", permissions=["erase"])
    def erase_selected(self, request: HttpRequest, queryset: QuerySet[Contact]) -> None:
        from hub.erasure import contact_erase  # erasure spans apps above contacts

        erased = 0
        for contact in queryset:
            contact_erase(contact=contact, actor=Actor.user(request.user.pk))
            erased += 1
        self.message_user(
            request, f"Erased {erased} contact(s); their addresses stay suppressed.", messages.SUCCESS
        )


@admin.register(ConsentEntry)
class ConsentEntryAdmin(ReadOnlyAdmin):
    """The ledger is append-only: read here, written through the services."""

    list_display = ("created_at", "contact", "channel", "purpose", "granted", "source")
    list_filter = ("channel", "purpose", "granted", "source")
    search_fields = ("contact__external_id",)
    list_select_related = ("contact",)
    show_full_result_count = False
    exclude = ("evidence",)
    readonly_fields = ("evidence_rows",)
    evidence_rows = labelled_json("evidence", "evidence")


class SuppressionForm(forms.ModelForm[Suppression]):
    channel = forms.ChoiceField(choices=[("email", "email"), ("sms", "sms"), ("push", "push")])
    address = forms.CharField(max_length=500, help_text="Email address, E.164 phone number or push token.")
    note = forms.CharField(max_length=300, required=False, help_text="Why (kept with the suppression).")

    class Meta:
        model = Suppression
        fields = ("channel", "address", "reason")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        address, channel = data.get("address", ""), data.get("channel", "")
        try:
            if channel == "email" and address:
                data["address"] = normalise_email(address)
            elif channel == "sms" and address:
                data["address"] = normalise_phone(address)
        except ValidationError as exc:
            raise ValidationError({"address": exc.messages}) from exc
        return data


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin[Suppression]):
    form = SuppressionForm
    list_display = ("channel", "reason", "address_shown", "created_at", "lifted_at")
    list_filter = ("channel", "reason", ("lifted_at", admin.EmptyFieldListFilter))
    search_fields = ("=address_hash",)
    actions = ["lift_selected"]
    show_full_result_count = False

    detail_rows = labelled_json("detail", "detail")

    @admin.display(description="address")
    def address_shown(self, obj: Suppression) -> str:
        return obj.address or f"(erased; hash {obj.address_hash[:12]}…)"

    def get_readonly_fields(self, request: HttpRequest, obj: Suppression | None = None) -> tuple[str, ...]:
        if obj is not None:
            return ("channel", "address", "address_hash", "reason", "detail_rows", "created_at", "lifted_at")
        return ()

    def get_fields(self, request: HttpRequest, obj: Suppression | None = None) -> Any:
        if obj is not None:
            return self.get_readonly_fields(request, obj)
        return ("channel", "address", "reason", "note")

    def get_form(
        self, request: HttpRequest, obj: Suppression | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is not None:
            kwargs["form"] = forms.ModelForm
        return super().get_form(request, obj, change, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # a suppression is added or lifted, never edited

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_lift_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("contacts.lift_suppression")

    def save_model(self, request: HttpRequest, obj: Suppression, form: Any, change: bool) -> None:
        data = form.cleaned_data
        saved = suppression_add(
            channel=data["channel"],
            address=data["address"],
            reason=data["reason"] or SuppressionReason.MANUAL,
            actor=Actor.user(request.user.pk),
            detail={"note": data.get("note", ""), "by": "admin"},
        )
        obj.pk = saved.pk

    @admin.action(description="Lift the selected suppressions", permissions=["lift"])
    def lift_selected(self, request: HttpRequest, queryset: QuerySet[Suppression]) -> None:
        lifted = 0
        for suppression in queryset.filter(lifted_at__isnull=True):
            suppression_lift(
                suppression=suppression,
                actor=Actor.user(request.user.pk),
                reason=f"lifted in admin by user {request.user.pk}",
            )
            lifted += 1
        self.message_user(request, f"Lifted {lifted} suppression(s).", messages.SUCCESS)
