from django.apps import AppConfig

# After the rollups counted the change (hub.messaging.apps.ROLLUPS_ORDER = 100).
PRICES_ORDER = 150


class TrackingConfig(AppConfig):
    name = "hub.tracking"
    label = "tracking"
    verbose_name = "Measurement"

    def ready(self) -> None:
        from hub.messaging import effects
        from hub.tracking.prices import prices_after_transition

        effects.register("provider_prices", prices_after_transition, order=PRICES_ORDER)
