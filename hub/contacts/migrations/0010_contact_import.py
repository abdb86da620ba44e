"""Contacts from a marketer's CSV (issue 20, point 7): the ContactImport record, and consent
entries whose source is such an import (the evidence columns kept in the entry)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import hub.ids


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0009_consent_withdrawn_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="consententry",
            name="source",
            field=models.CharField(
                choices=[
                    ("api", "API"),
                    ("sms_keyword", "SMS keyword"),
                    ("one_click", "One-click unsubscribe"),
                    ("preference_page", "Preference page"),
                    ("complaint", "Complaint"),
                    ("bounce", "Bounce"),
                    ("provider", "Provider report"),
                    ("admin", "Admin"),
                    ("import", "CSV import (evidence in the entry)"),
                ],
                max_length=16,
            ),
        ),
        migrations.CreateModel(
            name="ContactImport",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=hub.ids.uuid7, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("file_name", models.CharField(blank=True, max_length=200)),
                ("csv_text", models.TextField()),
                ("report", models.JSONField(blank=True, default=dict)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("imported_at", models.DateTimeField(blank=True, null=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ("-created_at",),
            },
        ),
    ]
