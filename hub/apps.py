from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


class HubConfig(AppConfig):
    name = "hub"
    verbose_name = "Switchboard"

    def ready(self) -> None:
        from hub.dbroles import checks  # noqa: F401 - registers the database role check
        from hub.dbroles.grants import db_roles_after_migrate
        from hub.lookups import lookups_register
        from hub.roles import roles_ensure

        lookups_register()  # field__in as = ANY on PostgreSQL (hub.lookups)

        # After every migrate (and flush), once all apps' permissions exist: post_migrate is sent
        # for each app with models in turn, so listen for the last (not again for every app).
        last = [config for config in apps.get_app_configs() if config.models_module is not None][-1]
        post_migrate.connect(roles_ensure, sender=last, dispatch_uid="hub.roles_ensure")
        # Once per migrate, after every app's tables exist: post_migrate is sent once for each app
        # with models (hub has none of its own), so listen for one of them.
        post_migrate.connect(
            db_roles_after_migrate,
            sender=apps.get_app_config("audit"),
            dispatch_uid="hub.db_roles_after_migrate",
        )
