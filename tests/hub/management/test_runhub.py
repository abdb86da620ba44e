"""``runhub --banner`` prints the running hub's banner again (issue 20 point 9: the banner
scrolled away within a minute and could not be shown again)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command


def test_the_banner_can_be_printed_again(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    (tmp_path / "banner.txt").write_text(" Admin:     http://127.0.0.1:8000/admin/\n")
    out = StringIO()
    call_command("runhub", "--banner", stdout=out)
    assert out.getvalue().startswith(" Admin:     http://127.0.0.1:8000/admin/")


def test_without_a_started_hub_it_says_how_to_start_one(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    with pytest.raises(CommandError, match=r"run \./scripts/up"):
        call_command("runhub", "--banner")
