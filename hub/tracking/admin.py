"""The price table in admin (operators): each save and delete is audited by the service."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.services import Actor
from hub.tracking.models import Price
from hub.tracking.prices import price_delete, price_save


@admin.register(Price)
class PriceAdmin(admin.ModelAdmin[Price]):
    list_display = ("channel", "prefix", "price", "unit", "currency", "updated_at")
    list_filter = ("channel", "currency")
    search_fields = ("country_prefix",)
    fields = ("channel", "country_prefix", "price", "unit", "currency")

    @admin.display(description="destination", ordering="country_prefix")
    def prefix(self, obj: Price) -> str:
        return f"+{obj.country_prefix}" if obj.country_prefix else "every other"

    def save_model(self, request: HttpRequest, obj: Price, form: Any, change: bool) -> None:
        price_save(price=obj, actor=Actor.user(request.user.pk), changed=list(form.changed_data))

    def delete_model(self, request: HttpRequest, obj: Price) -> None:
        price_delete(price=obj, actor=Actor.user(request.user.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Price]) -> None:
        for price in queryset:
            price_delete(price=price, actor=Actor.user(request.user.pk))
