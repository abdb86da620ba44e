from django.apps import AppConfig

# The order status-change effects run in (``hub.messaging.effects``): counts first, then what
# follows from the change (a fallback message), then telling the calling service.
ROLLUPS_ORDER = 100
FALLBACK_ORDER = 200
CALLBACKS_ORDER = 300
JOURNEYS_ORDER = 400


class MessagingConfig(AppConfig):
    name = "hub.messaging"
    label = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        from hub.messaging import effects
        from hub.messaging.rollups import rollups_after_transition
        from hub.messaging.routing import routing_after_transition

        effects.register("rollups", rollups_after_transition, order=ROLLUPS_ORDER)
        effects.register("fallback_routing", routing_after_transition, order=FALLBACK_ORDER)

        from hub.generations import bump_on_changes
        from hub.messaging.live_templates import TEMPLATES_GENERATION
        from templates_app.models import Template, TemplateApproval, TemplateVersion

        # A template edited, a version approved or made live, anything deleted: every process
        # reads live templates again (hub.generations).
        bump_on_changes(TEMPLATES_GENERATION, Template, TemplateVersion, TemplateApproval)
