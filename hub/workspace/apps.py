from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    name = "hub.workspace"
    label = "workspace"
    verbose_name = "Compliance and reports"
    default_auto_field = "django.db.models.BigAutoField"
