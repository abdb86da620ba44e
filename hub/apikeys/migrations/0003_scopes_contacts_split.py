"""Contacts behind three scopes (SPEC §4): ``contacts:read``, ``contacts:write``, ``contacts:erase``.

Before, ``contacts:write`` also erased (DELETE), and any key with ``read`` or ``send`` read every
contact. Keys that held ``contacts:write`` keep what they did with contacts: ``contacts:erase``,
and ``contacts:read`` if they could read. Keys with no scopes keep everything. Reading contacts
with only ``read`` or ``send`` (or only send limits) is the hole this closes and is not kept;
docs/security/api-keys.md says how to grant it back to a key that needs it.
"""

from typing import Any

from django.db import migrations, models

READERS = {"read", "send"}


def keep_contacts_access(apps: Any, schema_editor: Any) -> None:
    ApiKey = apps.get_model("apikeys", "ApiKey")
    # Filtered in Python: SQLite (the embedded default) has no JSON containment lookup.
    for key in ApiKey.objects.all():
        if not isinstance(key.scopes, list) or "contacts:write" not in key.scopes:
            continue
        added = ["contacts:erase"] + (["contacts:read"] if READERS & set(key.scopes) else [])
        key.scopes = key.scopes + [s for s in added if s not in key.scopes]
        key.save(update_fields=["scopes"])


def undo_contacts_split(apps: Any, schema_editor: Any) -> None:
    """Back to the older scopes, narrowing: to the older code a list of only unknown scopes
    would mean an unrestricted key."""
    older = {"contacts:read": "read", "contacts:erase": "contacts:write"}
    ApiKey = apps.get_model("apikeys", "ApiKey")
    for key in ApiKey.objects.all():
        scopes = [older.get(s, s) for s in key.scopes]
        scopes = [s for n, s in enumerate(scopes) if s not in scopes[:n]]
        if scopes != key.scopes:
            key.scopes = scopes
            key.save(update_fields=["scopes"])


class Migration(migrations.Migration):
    dependencies = [
        ("apikeys", "0002_apikey_daily_quota_apikey_is_test_and_more"),
    ]

    operations = [
        migrations.AlterField(
            model_name="apikey",
            name="rate_limit_per_minute",
            field=models.PositiveIntegerField(
                default=3000, help_text="Requests per minute (token bucket, refilled continuously)."
            ),
        ),
        migrations.AlterField(
            model_name="apikey",
            name="scopes",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="Empty: may do everything. Capabilities: 'read', 'send', 'contacts:read', 'contacts:write', 'contacts:erase' (a key with only 'read' is read-only). Limits on what may be sent: 'category:<category>', 'template:<key>' (any one matching is enough; limits without a capability make a sending key).",
            ),
        ),
        migrations.RunPython(keep_contacts_access, undo_contacts_split),
    ]
