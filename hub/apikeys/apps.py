from django.apps import AppConfig


class ApiKeysConfig(AppConfig):
    name = "hub.apikeys"
    label = "apikeys"
    verbose_name = "API keys"
