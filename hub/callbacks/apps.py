from django.apps import AppConfig


class CallbacksConfig(AppConfig):
    name = "hub.callbacks"
    label = "callbacks"
    verbose_name = "Status callbacks"

    def ready(self) -> None:
        from hub.callbacks.models import CallbackEndpoint
        from hub.callbacks.services import ENDPOINTS_GENERATION, callbacks_after_transition
        from hub.generations import bump_on_changes
        from hub.messaging import effects
        from hub.messaging.apps import CALLBACKS_ORDER

        effects.register("status_callbacks", callbacks_after_transition, order=CALLBACKS_ORDER)
        # The keys that have an endpoint are cached per process; a new endpoint is seen at once.
        bump_on_changes(ENDPOINTS_GENERATION, CallbackEndpoint)
