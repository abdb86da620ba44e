"""Support finds a contact by part of its external id, email, phone or name, in any case.

On PostgreSQL, trigram (pg_trgm) GIN indexes over the same expressions the search filters by
(``UPPER(col::text) LIKE UPPER('%…%')``, Django's ``icontains``) keep a three-letter fragment
fast at a million contacts. They are built CONCURRENTLY, so a live hub keeps writing contacts
while they build. SQLite has no such index; the search there scans, which the embedded default's
demo data does not notice. ``pg_trgm`` is a trusted extension (PostgreSQL 13+): the schema owner
that runs migrations may create it without being a superuser.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

# (index name, the indexed expression): each must match the SQL of the search's filter.
INDEXES = (
    ("contacts_contact_external_id_trgm", "UPPER(external_id::text)"),
    ("contacts_contact_email_trgm", "UPPER(email::text)"),
    ("contacts_contact_phone_trgm", "UPPER(phone::text)"),
    ("contacts_contact_name_trgm", "UPPER((attributes ->> 'name')::text)"),
)


def indexes_create(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, expression in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} "
            f"ON contacts_contact USING gin (({expression}) gin_trgm_ops)"
        )


def indexes_drop(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("contacts", "0006_conv_conversations"),
    ]

    operations = [migrations.RunPython(indexes_create, indexes_drop, elidable=False)]
