"""Staff users and groups in admin, with every change audited by an explicit service call
(who, what, before, after); no signals."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.digests import address_digest, digest_key_id
from audit.services import Actor
from hub.workspace.services import staff_change_record

_BEFORE = "_workspace_audit_before"


def user_snapshot(user: User) -> dict[str, Any]:
    """What is audited of a user: no password hash, the email only as a digest."""
    if user.pk is None:
        return {}
    return {
        "username": user.username,
        "email_digest": address_digest(user.email) if user.email else "",
        "digest_key": digest_key_id(),
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "groups": sorted(user.groups.values_list("name", flat=True)),
        "permissions": sorted(
            f"{p.content_type.app_label}.{p.codename}"
            for p in user.user_permissions.select_related("content_type")
        ),
        # Changes when the password changes; reveals nothing of it.
        "password_fingerprint": address_digest(user.password)[:8] if user.password else "",
    }


def group_snapshot(group: Group) -> dict[str, Any]:
    if group.pk is None:
        return {}
    return {
        "name": group.name,
        "permissions": sorted(
            f"{p.content_type.app_label}.{p.codename}"
            for p in group.permissions.select_related("content_type")
        ),
    }


class AuditedAdminMixin:
    """Snapshots before save, records after the many-to-many fields are saved too."""

    audit_type = ""

    def snapshot(self, obj: Any) -> dict[str, Any]:
        raise NotImplementedError

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        stored = type(obj).objects.filter(pk=obj.pk).first() if change else None
        setattr(request, _BEFORE, self.snapshot(stored) if stored is not None else None)
        super().save_model(request, obj, form, change)  # type: ignore[misc]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)  # type: ignore[misc]
        obj = form.instance
        staff_change_record(
            actor=Actor.user(request.user.pk),
            action=f"{self.audit_type}.{'changed' if change else 'created'}",
            object_type=self.audit_type,
            object_id=obj.pk,
            before=getattr(request, _BEFORE, None),
            after=self.snapshot(obj),
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        before, pk = self.snapshot(obj), obj.pk
        super().delete_model(request, obj)  # type: ignore[misc]
        staff_change_record(
            actor=Actor.user(request.user.pk),
            action=f"{self.audit_type}.deleted",
            object_type=self.audit_type,
            object_id=pk,
            before=before,
            after=None,
        )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class AuditedUserAdmin(AuditedAdminMixin, UserAdmin[User]):
    audit_type = "user"

    def snapshot(self, obj: Any) -> dict[str, Any]:
        return user_snapshot(obj)


@admin.register(Group)
class AuditedGroupAdmin(AuditedAdminMixin, GroupAdmin):
    audit_type = "group"

    def snapshot(self, obj: Any) -> dict[str, Any]:
        return group_snapshot(obj)
