from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "hub.notify"
    label = "notify"
    verbose_name = "GOV.UK Notify-compatible API"
