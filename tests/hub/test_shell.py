"""The admin shell (issue 20 point 8): every custom page takes its colours from the admin's
theme variables, so dark mode works everywhere; the shared stylesheet is on every page."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from hub.roles import roles_ensure

ROOT = Path(__file__).resolve().parents[2]
# A colour written into a page, unless it is only the fallback of a theme variable.
COLOUR = re.compile(r"#[0-9a-fA-F]{3,8}\b|\b(?:white|black)\b(?!-space)|rgba?\(")
FALLBACK = re.compile(r"var\(--[\w-]+,\s*[^)]*\)")
# Drawn the same on both themes on purpose: an email on its white paper, a phone's dark
# notification, the public pages' own light and dark palettes.
FIXED = ("iframe", ".tpl-push", "srcdoc", "--fg:", "--bg:", "--brand", "outline: 3px solid #ffbf47")


def custom_templates() -> list[Path]:
    found = [
        *ROOT.glob("hub/**/templates/**/*.html"),
        *ROOT.glob("hub/shell/**/*.html"),
        *ROOT.glob("templates_app/templates/**/*.html"),
        *ROOT.glob("audit/templates/**/*.html"),
    ]
    return sorted(set(found))


def test_custom_pages_take_their_colours_from_the_theme_variables():
    """Sandbox banner, outcome colours, diff highlights and SMS bubbles were fixed light-theme
    colours (dark text on the dark theme, or a glaring pale box)."""
    written = []
    for path in custom_templates():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if any(fixed in line for fixed in FIXED):
                continue
            if COLOUR.search(FALLBACK.sub("", line)):
                written.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert written == []


def test_each_shell_colour_has_a_light_and_a_different_dark_value():
    """light-dark() follows the color-scheme the admin sets from the system setting or its
    toggle: one definition serves both ways of choosing dark."""
    css = (ROOT / "hub" / "static" / "hub" / "shell.css").read_text()
    defined = re.findall(r"(--sb-[\w-]+):\s*([^;]+);", css)
    assert defined
    for name, value in defined:
        pair = re.fullmatch(r"light-dark\((#[0-9a-f]{6}), (#[0-9a-f]{6})\)", value)
        assert pair and pair[1] != pair[2], name


class Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.described: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.append(str(values["id"]))
        if values.get("aria-describedby"):
            self.described.extend(str(values["aria-describedby"]).split())


def ids_of(html: str) -> Ids:
    parser = Ids()
    parser.feed(html)
    return parser


@pytest.fixture
def compliance(db):
    roles_ensure()
    user = get_user_model().objects.create_user(username="colin", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Compliance"))
    return user


def test_the_shell_stylesheet_is_on_admin_pages(client, compliance):
    client.force_login(compliance)
    page = client.get(reverse("admin:workspace_workspacemessage_changelist")).content.decode()
    assert "hub/shell.css" in page


def test_the_compliance_workspace_has_unique_ids_and_its_help_texts_exist(client, compliance):
    """Its evidence form's contact field had the search form's id (two labels for one box,
    axe "label" and "duplicate-id-aria"), and help texts were referred to but not shown."""
    client.force_login(compliance)
    found = ids_of(client.get(reverse("admin:workspace_workspacemessage_changelist")).content.decode())
    assert len(found.ids) == len(set(found.ids)), sorted(i for i in found.ids if found.ids.count(i) > 1)
    assert found.described and set(found.described) <= set(found.ids)
