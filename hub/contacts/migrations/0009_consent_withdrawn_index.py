"""The compliance home counts today's opt-outs (consent withdrawals) from an index on the
withdrawals' time, never a scan of the whole consent ledger. Built CONCURRENTLY on PostgreSQL
so a live hub keeps recording consent while it builds; a plain index elsewhere (SQLite)."""

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

INDEX = models.Index(condition=models.Q(granted=False), fields=["created_at"], name="consent_withdrawn_idx")


def index_create(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    model = apps.get_model("contacts", "ConsentEntry")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX.name} "
            f"ON {model._meta.db_table} (created_at) WHERE NOT granted"
        )
    else:
        schema_editor.add_index(model, INDEX)


def index_drop(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    model = apps.get_model("contacts", "ConsentEntry")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX.name}")
    else:
        schema_editor.remove_index(model, INDEX)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("contacts", "0008_contact_view_addresses_permission"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="consententry", index=INDEX)],
            database_operations=[migrations.RunPython(index_create, index_drop)],
        )
    ]
