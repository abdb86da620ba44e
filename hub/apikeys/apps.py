from django.apps import AppConfig


class ApiKeysConfig(AppConfig):
    name = "hub.apikeys"
    label = "apikeys"
    verbose_name = "API keys"

    def ready(self) -> None:
        from hub.apikeys.models import ApiKey
        from hub.apikeys.services import APIKEYS_GENERATION
        from hub.generations import bump_on_changes

        # Any saved or deleted key (revoked, its scopes or limits edited) invalidates every
        # process's cached keys (hub.generations).
        bump_on_changes(APIKEYS_GENERATION, ApiKey)
