from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class MessagingConfig(AppConfig):
    name = "hub.messaging"
    label = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        from hub.generations import bump_on_change
        from hub.messaging.live_templates import TEMPLATES_GENERATION
        from templates_app.models import Template, TemplateApproval, TemplateVersion

        # A template edited, a version approved or made live, anything deleted: every process
        # reads live templates again (hub.generations).
        receiver = bump_on_change(TEMPLATES_GENERATION)
        for model in (Template, TemplateVersion, TemplateApproval):
            for signal in (post_save, post_delete):
                signal.connect(
                    receiver,
                    sender=model,
                    weak=False,
                    dispatch_uid=f"templates-generation-{model.__name__}-{signal is post_save}",
                )
