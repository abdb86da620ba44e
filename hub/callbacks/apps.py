from django.apps import AppConfig


class CallbacksConfig(AppConfig):
    name = "hub.callbacks"
    label = "callbacks"
    verbose_name = "Status callbacks"
