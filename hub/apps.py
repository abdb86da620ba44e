from django.apps import AppConfig
from django.db.models.signals import post_migrate


class HubConfig(AppConfig):
    name = "hub"
    verbose_name = "Switchboard"

    def ready(self) -> None:
        from hub.dbroles import checks  # noqa: F401 - registers the database role check
        from hub.dbroles.grants import db_roles_after_migrate
        from hub.roles import roles_ensure

        # After every migrate, once all apps' permissions exist.
        post_migrate.connect(roles_ensure, dispatch_uid="hub.roles_ensure")
        # Once per migrate (sent for this app only), after every app's tables exist.
        post_migrate.connect(db_roles_after_migrate, sender=self, dispatch_uid="hub.db_roles_after_migrate")
