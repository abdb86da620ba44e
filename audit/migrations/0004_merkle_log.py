"""The Merkle log: records numbered by a sequence (no chain head), leaves, stored subtrees, tree
states and signed tree heads; the new tables refuse UPDATE, DELETE and TRUNCATE like the others.

Existing records keep their columns (and their hash chain, still checked by
``verify_audit --legacy-chain``). ``txid`` is added with a default of the writing transaction's
id; PostgreSQL evaluates that default once for the rows already there, so they all carry this
migration's transaction id, lower than any the sequencer will see later: its first round takes
them, in record-number order, as the first leaves of the tree.
"""

from typing import Any

from django.db import migrations, models

NEW_TABLES = ("audit_auditleaf", "audit_auditnode", "audit_audittreestate", "audit_audittreehead")


def forwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        # The historical model here predates the state's AddField: give it the field itself.
        record = apps.get_model("audit", "AuditRecord")
        txid = models.BigIntegerField(editable=False, null=True)
        txid.set_attributes_from_name("txid")
        schema_editor.add_field(record, txid)
        return
    schema_editor.execute(
        "ALTER TABLE audit_auditrecord ADD COLUMN txid bigint NULL DEFAULT (pg_current_xact_id()::text::bigint)"
    )
    schema_editor.execute(
        "CREATE SEQUENCE audit_record_seq AS bigint OWNED BY audit_auditrecord.seq; "
        "SELECT setval('audit_record_seq', coalesce((SELECT max(seq) FROM audit_auditrecord), 0) + 1, false)"
    )
    for table in NEW_TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_refuse_update BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()"
        )
        schema_editor.execute(
            f"CREATE TRIGGER {table}_refuse_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()"
        )


def backwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP SEQUENCE IF EXISTS audit_record_seq")
    schema_editor.execute("ALTER TABLE audit_auditrecord DROP COLUMN txid")


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_append_only_triggers")]

    operations = [
        migrations.DeleteModel(name="AuditChainHead"),
        migrations.AlterField(
            model_name="auditrecord",
            name="prev_hash",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.CreateModel(
            name="AuditLeaf",
            fields=[
                ("leaf_index", models.BigIntegerField(primary_key=True, serialize=False)),
                ("record_id", models.BigIntegerField(unique=True)),
                ("leaf_hash", models.BinaryField()),
            ],
            options={"ordering": ("leaf_index",)},
        ),
        migrations.CreateModel(
            name="AuditNode",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("level", models.PositiveSmallIntegerField()),
                ("index", models.BigIntegerField()),
                ("hash", models.BinaryField()),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("level", "index"), name="audit_node_unique")]
            },
        ),
        migrations.CreateModel(
            name="AuditTreeState",
            fields=[
                ("tree_size", models.BigIntegerField(primary_key=True, serialize=False)),
                ("root_hash", models.BinaryField()),
                ("frontier", models.BinaryField()),
                ("horizon", models.BigIntegerField()),
                ("round_horizon", models.BigIntegerField()),
                ("after_seq", models.BigIntegerField()),
                ("created_at", models.DateTimeField()),
            ],
            options={"ordering": ("-tree_size",)},
        ),
        migrations.CreateModel(
            name="AuditTreeHead",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("tree_size", models.BigIntegerField()),
                ("root_hash", models.BinaryField()),
                ("note", models.TextField()),
                ("created_at", models.DateTimeField()),
            ],
            options={"ordering": ("-created_at", "-id"), "get_latest_by": "created_at"},
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="auditrecord",
                    name="txid",
                    field=models.BigIntegerField(editable=False, null=True),
                ),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        ),
        migrations.AddIndex(
            model_name="auditrecord",
            index=models.Index(fields=["txid", "seq"], name="audit_txid_idx"),
        ),
    ]
