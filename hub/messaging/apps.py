from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "hub.messaging"
    label = "messaging"
    verbose_name = "Messaging"
