"""Journeys as code: ``journeys push FILE --user``, ``journeys approve KEY --user``, export."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from hub.journeys.models import Journey
from templates_app.models import VersionStatus
from tests.hub.journeys.conftest import definition

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("shipped")]


def push(tmp_path: Path, document: object, user: str) -> str:
    path = tmp_path / "journeys.json"
    path.write_text(json.dumps(document))
    out = StringIO()
    call_command("journeys", "push", str(path), "--user", user, stdout=out)
    return out.getvalue()


def test_push_submits_and_another_user_approves(tmp_path: Path) -> None:
    User.objects.create_user("mia")
    User.objects.create_user("carl")
    assert push(tmp_path, definition(), "mia") == "welcome v1: submitted for approval\n"
    version = Journey.objects.get(key="welcome").versions.get()
    assert version.status == VersionStatus.IN_REVIEW
    assert version.author.username == "mia"  # type: ignore[union-attr]
    with pytest.raises(CommandError, match="cannot review a version you wrote"):
        call_command("journeys", "approve", "welcome", "--user", "mia")
    out = StringIO()
    call_command("journeys", "approve", "welcome", "--user", "carl", stdout=out)
    assert out.getvalue() == "welcome v1: approved, now live\n"
    assert Journey.objects.get(key="welcome").live_version == version


def test_a_file_with_any_problem_pushes_nothing(tmp_path: Path) -> None:
    User.objects.create_user("mia")
    good, bad = definition(), definition(key="other", steps=[{"id": "x", "type": "wait"}])
    with pytest.raises(CommandError) as caught:
        push(tmp_path, {"journeys": [good, bad]}, "mia")
    assert "journeys.1.steps.0: a wait has either a duration or an until time" in str(caught.value)
    assert not Journey.objects.exists()


def test_push_needs_a_known_user(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        push(tmp_path, definition(), "ghost")


def test_export_writes_what_push_reads(tmp_path: Path) -> None:
    User.objects.create_user("mia")
    User.objects.create_user("carl")
    push(tmp_path, {"journeys": [definition(), definition(key="second", name="Second")]}, "mia")
    call_command("journeys", "approve", "welcome", "--user", "carl")
    out = StringIO()
    call_command("journeys", "export", stdout=out)
    exported = json.loads(out.getvalue())
    assert [d["key"] for d in exported["journeys"]] == ["second", "welcome"]
    assert exported["journeys"][1] == definition()
    assert (
        push(tmp_path, exported, "mia")
        == "second v2: submitted for approval\nwelcome v2: submitted for approval\n"
    )


def test_schema_prints_the_json_schema_push_checks_against() -> None:
    out = StringIO()
    call_command("journeys", "schema", stdout=out)
    schema = json.loads(out.getvalue())
    assert schema["title"] == "Switchboard journey definition"
    assert schema["required"] == ["key", "name", "trigger", "steps"]
