"""Pure helpers for the rule dry run: a rule set with one rule replaced."""

from __future__ import annotations

from collections.abc import Sequence

from hub.compliance.rules import RuleSpec, order_specs


def rules_with_change(
    rules: Sequence[RuleSpec], *, key: str, replacement: RuleSpec | None
) -> tuple[RuleSpec, ...]:
    """``rules`` with rule ``key`` replaced by ``replacement`` (or removed, if None: disabled)."""
    kept = [r for r in rules if r.key != key]
    if replacement is not None:
        kept.append(replacement)
    return order_specs(kept)
