from django.apps import AppConfig


class JourneysConfig(AppConfig):
    name = "hub.journeys"
    label = "journeys"
    verbose_name = "Journeys"
