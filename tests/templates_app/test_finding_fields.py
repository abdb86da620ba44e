"""Every lint finding says which field it is about, so the editor and review pages can link to
it (issue 20 point 5: findings as a list with links to the field)."""

from __future__ import annotations

import re
from pathlib import Path

import templates_app.lint as lint
from templates_app.lint import FINDING_FIELDS, Finding


def test_every_code_the_lint_emits_has_a_field() -> None:
    source = Path(lint.__file__).read_text()
    codes = set(re.findall(r'(?:Finding\(\s*|finding\(\s*)(?:ERROR|WARNING|INFO),\s*"([a-z_0-9]+)"', source))
    assert codes, "the pattern no longer finds the lint's codes"
    assert codes <= set(FINDING_FIELDS), codes - set(FINDING_FIELDS)


def test_the_field_travels_with_the_finding() -> None:
    finding = Finding("error", "sms_no_opt_out", "Marketing SMS must say how to opt out.", "sms", "en")
    assert finding.as_dict()["field"] == "text"
    assert (
        Finding("warning", "unused_variable", "'x' is declared but never used.").as_dict()["field"]
        == "variables"
    )
