"""Required-content rules, checked when a template version is submitted (not per message).

``templates_app`` may not import ``hub``: its lint resolves ``settings.TEMPLATES_CONTENT_CHECK``
(this module's ``template_content_problems``) with ``import_string`` and calls it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hub.compliance.models import RuleKind
from hub.compliance.rules import RuleSpec, rules_current


def content_problems(
    *, category: str, channel: str, content: Mapping[str, str], rules: Sequence[RuleSpec]
) -> list[str]:
    """What this content lacks, one sentence per missing item, naming the rule version."""
    problems: list[str] = []
    for rule in rules:
        if rule.kind != RuleKind.REQUIRED_CONTENT:
            continue
        if not rule.applies_to(category=category, channel=channel, country=""):
            continue
        text = "\n".join(str(content.get(name) or "") for name in rule.fields)
        for label, any_of, patterns in rule.required:
            if not any(token in text for token in any_of) and not any(p.search(text) for p in patterns):
                # The marketer reads this beside the editor: the rule's regular expressions are
                # for the compliance officer who wrote them (the rule's page shows them).
                shown = " or ".join(
                    [*(f"'{t}'" for t in any_of), *(["text that reads as one"] if patterns else [])]
                )
                problems.append(f"{rule.label}: {category} {channel} must carry a {label} ({shown}).")
    return problems


def template_content_problems(*, category: str, channel: str, content: Mapping[str, str]) -> list[str]:
    """The live rule set's verdict on one channel variant (subject, html, text, title...).
    An empty list means the content satisfies every required-content rule in scope."""
    return content_problems(category=category, channel=channel, content=content, rules=rules_current())
