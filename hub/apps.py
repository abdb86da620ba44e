from django.apps import AppConfig
from django.db.models.signals import post_migrate


class HubConfig(AppConfig):
    name = "hub"
    verbose_name = "Switchboard"

    def ready(self) -> None:
        from hub.roles import roles_ensure

        # After every migrate, once all apps' permissions exist.
        post_migrate.connect(roles_ensure, dispatch_uid="hub.roles_ensure")
