from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class ApiKeysConfig(AppConfig):
    name = "hub.apikeys"
    label = "apikeys"
    verbose_name = "API keys"

    def ready(self) -> None:
        from hub.apikeys.models import ApiKey
        from hub.apikeys.services import APIKEYS_GENERATION
        from hub.generations import bump_on_change

        # Any saved or deleted key (revoked, its scopes or limits edited) invalidates every
        # process's cached keys (hub.generations).
        receiver = bump_on_change(APIKEYS_GENERATION)
        for signal in (post_save, post_delete):
            signal.connect(
                receiver, sender=ApiKey, weak=False, dispatch_uid=f"apikeys-generation-{signal is post_save}"
            )
