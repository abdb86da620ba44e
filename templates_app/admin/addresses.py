"""Each staff member's own test addresses: add one (a code is sent to it), enter the code.

The pages are plain views, not the admin's change form: sending the code is a network call,
and the change form runs in a transaction.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from templates_app.admin.forms import CodeForm, StaffAddressForm, staff_user
from templates_app.models import StaffAddress
from templates_app.services import (
    StaffAddressError,
    staff_address_add,
    staff_address_remove,
    staff_address_verify,
)

TEST_SEND_PERM = "templates_app.test_send_templateversion"


@admin.register(StaffAddress)
class StaffAddressAdmin(admin.ModelAdmin[StaffAddress]):
    """Whoever may send tests manages their own addresses; nobody sees anyone else's."""

    list_display = ("channel", "address", "verified", "verified_at", "created_at")
    fields = ("channel", "address", "verified_at", "created_at")
    readonly_fields = fields
    actions = ["remove_addresses"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[StaffAddress]:
        return super().get_queryset(request).filter(user=request.user.pk)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(TEST_SEND_PERM)

    def has_view_permission(self, request: HttpRequest, obj: StaffAddress | None = None) -> bool:
        return request.user.has_perm(TEST_SEND_PERM)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(TEST_SEND_PERM)

    def has_change_permission(self, request: HttpRequest, obj: StaffAddress | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: StaffAddress | None = None) -> bool:
        return False  # removal goes through the audited action below

    def has_remove_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(TEST_SEND_PERM)

    @admin.display(description="verified")
    def verified(self, obj: StaffAddress) -> str:
        if obj.verified_at:
            return "yes"
        url = reverse("admin:templates_app_staffaddress_verify", args=[obj.pk])
        return format_html('<a href="{}">enter the code</a>', url)

    @admin.action(description="Remove the selected addresses", permissions=["remove"])
    def remove_addresses(self, request: HttpRequest, queryset: QuerySet[StaffAddress]) -> None:
        user = staff_user(request)
        for address in queryset:
            staff_address_remove(address=address, user=user)
        self.message_user(request, "Removed.", messages.SUCCESS)

    def get_urls(self) -> list[URLPattern]:
        verify = path(
            "<int:pk>/verify/",
            self.admin_site.admin_view(self.verify_view),
            name="templates_app_staffaddress_verify",
        )
        return [verify, *super().get_urls()]

    def _render(self, request: HttpRequest, form: Any, **context: Any) -> HttpResponse:
        return TemplateResponse(
            request,
            "admin/templates_app/staffaddress/form.html",
            {**self.admin_site.each_context(request), "opts": self.opts, "form": form, **context},
        )

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = StaffAddressForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                address = staff_address_add(
                    user=staff_user(request),
                    channel=form.cleaned_data["channel"],
                    address=form.cleaned_data["address"],
                )
            except StaffAddressError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"We sent a code to {address.address}; enter it below.")
                return HttpResponseRedirect(
                    reverse("admin:templates_app_staffaddress_verify", args=[address.pk])
                )
        return self._render(
            request,
            form,
            title="Add a test address",
            intro="Test sends go only to addresses you have proved are yours. We send a one-time code.",
            submit_label="Send me a code",
        )

    def verify_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        address = get_object_or_404(self.get_queryset(request), pk=pk)
        form = CodeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                staff_address_verify(
                    address=address, user=staff_user(request), code=form.cleaned_data["code"]
                )
            except StaffAddressError as exc:
                form.add_error("code", str(exc))
            else:
                messages.success(request, f"{address.address} is verified: tests may go there now.")
                return HttpResponseRedirect(reverse("admin:templates_app_staffaddress_changelist"))
        return self._render(
            request,
            form,
            title=f"Verify {address.address}",
            intro=f"Enter the code we sent to {address.address}. It is valid for ten minutes.",
            submit_label="Verify",
        )
