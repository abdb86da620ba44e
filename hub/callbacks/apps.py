from django.apps import AppConfig


class CallbacksConfig(AppConfig):
    name = "hub.callbacks"
    label = "callbacks"
    verbose_name = "Status callbacks"

    def ready(self) -> None:
        from hub.callbacks.services import callbacks_after_transition
        from hub.messaging import effects
        from hub.messaging.apps import CALLBACKS_ORDER

        effects.register("status_callbacks", callbacks_after_transition, order=CALLBACKS_ORDER)
