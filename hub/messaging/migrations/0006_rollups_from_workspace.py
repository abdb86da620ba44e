"""The rollup tables move to the messaging app, which writes them (issue 16 point 3). State
only: the tables keep their names (``workspace_*``) and their rows."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0005_search_indexes_by_rule_and_status"),
        ("workspace", "0003_workers_heartbeat"),
        ("templates_app", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="DailyRollup",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("channel", models.CharField(max_length=8)),
                        ("day", models.DateField()),
                        ("sent", models.BigIntegerField(default=0)),
                        ("delivered", models.BigIntegerField(default=0)),
                        ("failed", models.BigIntegerField(default=0)),
                        ("bounced", models.BigIntegerField(default=0)),
                        ("blocked", models.BigIntegerField(default=0)),
                        ("opened", models.BigIntegerField(default=0)),
                        ("clicked", models.BigIntegerField(default=0)),
                        ("unsubscribed", models.BigIntegerField(default=0)),
                        ("complained", models.BigIntegerField(default=0)),
                        (
                            "segments",
                            models.BigIntegerField(default=0, help_text="SMS segments handed to providers."),
                        ),
                        ("cost", models.DecimalField(decimal_places=4, default=0, max_digits=14)),
                        (
                            "template",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="templates_app.template",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "workspace_dailyrollup",
                        "ordering": ("-day", "template", "channel"),
                        "indexes": [models.Index(fields=["day"], name="rollup_day_idx")],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("template", "channel", "day"), name="rollup_unique_day"
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="DecisionRollup",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("day", models.DateField()),
                        ("outcome", models.CharField(max_length=16)),
                        ("reason", models.CharField(max_length=100)),
                        ("count", models.BigIntegerField(default=0)),
                    ],
                    options={
                        "db_table": "workspace_decisionrollup",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("day", "outcome", "reason"), name="decision_rollup_unique"
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
