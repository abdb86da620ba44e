"""The compliance home counts today's opt-outs (consent withdrawals) from an index on the
withdrawals' time, never a scan of the whole consent ledger. Built CONCURRENTLY on PostgreSQL
so a live hub keeps recording consent while it builds."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import ProjectState

INDEX = models.Index(condition=models.Q(granted=False), fields=["created_at"], name="consent_withdrawn_idx")


class AddIndexAnyDatabase(AddIndexConcurrently):
    """CONCURRENTLY on PostgreSQL; a plain index elsewhere (SQLite, the embedded default)."""

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("contacts", "0007_contact_search_indexes"),
    ]

    operations = [AddIndexAnyDatabase(model_name="consententry", index=INDEX)]
