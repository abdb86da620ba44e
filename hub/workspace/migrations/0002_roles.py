"""Create the staff role groups (Marketer, Compliance, Support, Operator) with their permissions."""

from typing import Any

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations


def create_roles(apps: Any, schema_editor: Any) -> None:
    from hub.roles import roles_apply

    # Permissions are normally created after migrate; create them now so the groups get them.
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, apps=apps, using=schema_editor.connection.alias)
    roles_apply(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


class Migration(migrations.Migration):
    dependencies = [
        ("workspace", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("audit", "0003_append_only_triggers"),
        ("templates_app", "0001_initial"),
        ("providers", "0001_initial"),
        ("apikeys", "0001_initial"),
        ("contacts", "0003_device"),
        ("messaging", "0002_message_decided_by_message_decision"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
