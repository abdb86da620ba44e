"""The rollup models now belong to the messaging app (its 0006); the reports page's proxy
follows them. State only: tables, rows and permissions are unchanged."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("workspace", "0003_workers_heartbeat"),
        ("messaging", "0006_rollups_from_workspace"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="Report"),
                migrations.DeleteModel(name="DailyRollup"),
                migrations.DeleteModel(name="DecisionRollup"),
                migrations.CreateModel(
                    name="Report",
                    fields=[],
                    options={
                        "verbose_name": "report",
                        "verbose_name_plural": "reports",
                        "proxy": True,
                        "indexes": [],
                        "constraints": [],
                    },
                    bases=("messaging.dailyrollup",),
                ),
            ],
            database_operations=[],
        ),
    ]
