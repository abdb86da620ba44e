from django.apps import AppConfig


class JourneysConfig(AppConfig):
    name = "hub.journeys"
    label = "journeys"
    verbose_name = "Journeys"

    def ready(self) -> None:
        from hub.journeys.wake import journeys_after_transition
        from hub.messaging import effects
        from hub.messaging.apps import JOURNEYS_ORDER

        effects.register("journeys", journeys_after_transition, order=JOURNEYS_ORDER)
