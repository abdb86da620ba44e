from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    name = "hub.providers"
    label = "providers"
    verbose_name = "Providers"
