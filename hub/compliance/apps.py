from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "hub.compliance"
    label = "compliance"
    verbose_name = "Compliance"

    def ready(self) -> None:
        from hub.compliance.models import Rule, RuleVersion
        from hub.compliance.rules import RULES_GENERATION
        from hub.generations import bump_on_changes

        # A rule or a version of one saved or deleted: every process reads the rules again.
        bump_on_changes(RULES_GENERATION, Rule, RuleVersion)
