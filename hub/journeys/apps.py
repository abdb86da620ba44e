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

        from hub.generations import bump_on_changes
        from hub.journeys.live_journeys import JOURNEYS_GENERATION
        from hub.journeys.models import Journey, JourneyVersion

        # A version made live, submitted, approved or edited: every process reads what events
        # do to journeys again (hub.journeys.live_journeys).
        bump_on_changes(JOURNEYS_GENERATION, Journey, JourneyVersion)
