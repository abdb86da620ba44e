from django.apps import AppConfig

# After the rollups counted the change and the callbacks were queued (hub.messaging.apps:
# CALLBACKS_ORDER = 300), before journeys (400): it only enqueues a task on commit.
PRICES_ORDER = 350


class TrackingConfig(AppConfig):
    name = "hub.tracking"
    label = "tracking"
    verbose_name = "Measurement"

    def ready(self) -> None:
        from hub.messaging import effects
        from hub.tracking.prices import prices_after_transition

        effects.register("provider_prices", prices_after_transition, order=PRICES_ORDER)

        from hub.generations import bump_on_changes
        from hub.journeys.models import JourneyVersion
        from hub.tracking.conversions import GOALS_GENERATION
        from templates_app.models import Template

        # A template's or journey version's goal set or changed: every process reads the goal
        # names again (hub.generations).
        bump_on_changes(GOALS_GENERATION, Template, JourneyVersion)
