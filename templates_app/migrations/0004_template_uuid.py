"""A stable UUID per template (for the GOV.UK Notify-compatible API): added nullable, filled
for existing rows, then made unique and required."""

import uuid

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def fill_uuids(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    Template = apps.get_model("templates_app", "Template")
    for template in Template.objects.filter(uuid__isnull=True).only("pk"):
        Template.objects.filter(pk=template.pk).update(uuid=uuid.uuid4())


class Migration(migrations.Migration):
    dependencies = [("templates_app", "0003_checker_staff_address")]

    operations = [
        migrations.AddField(
            model_name="template", name="uuid", field=models.UUIDField(editable=False, null=True)
        ),
        migrations.RunPython(fill_uuids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="template",
            name="uuid",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
