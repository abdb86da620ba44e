"""A marketer's segment ("tier is gold and region is one of north, east") is counted and
materialised from contacts' ``attributes``. On PostgreSQL the segment filter compiles to JSON
containment (``attributes @> '{"tier": "gold"}'``) and key presence (``attributes ? 'tier'``),
which this GIN index (the default ``jsonb_ops`` class, which serves both) answers without
reading every contact. Built CONCURRENTLY, so a live hub keeps writing contacts meanwhile.
SQLite has no such index: its segments scan, which the embedded default's data does not notice.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

INDEX = "contacts_contact_attributes_gin"


def index_create(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON contacts_contact USING gin (attributes)"
    )


def index_drop(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("contacts", "0010_contact_import"),
    ]

    operations = [migrations.RunPython(index_create, index_drop, elidable=False)]
