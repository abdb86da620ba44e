"""Store each record's hashed canonical form; add chain-head checkpoints."""

from typing import Any

from django.db import migrations, models


def backfill_canonical(apps: Any, schema_editor: Any) -> None:
    # Before the append-only triggers exist: rebuild the canonical text the hash was taken over.
    from audit.services import canonical_bytes

    AuditRecord = apps.get_model("audit", "AuditRecord")
    batch = []
    for record in AuditRecord.objects.filter(canonical="").order_by("seq").iterator(chunk_size=2000):
        record.canonical = canonical_bytes(
            seq=record.seq,
            created_at=record.created_at,
            actor_type=record.actor_type,
            actor_id=record.actor_id,
            action=record.action,
            object_type=record.object_type,
            object_id=record.object_id,
            payload=record.payload,
            prev_hash=record.prev_hash,
        ).decode()
        batch.append(record)
        if len(batch) >= 2000:
            AuditRecord.objects.bulk_update(batch, ["canonical"])
            batch = []
    if batch:
        AuditRecord.objects.bulk_update(batch, ["canonical"])


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="auditrecord",
            name="canonical",
            field=models.TextField(default="", editable=False),
        ),
        migrations.RunPython(backfill_canonical, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="auditrecord",
            index=models.Index(fields=["action", "created_at"], name="audit_action_idx"),
        ),
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("seq", models.BigIntegerField()),
                ("hash", models.CharField(max_length=64)),
                ("created_at", models.DateTimeField()),
            ],
            options={"ordering": ("-created_at", "-id"), "get_latest_by": "created_at"},
        ),
    ]
