"""The schema check the /v2/ tests rely on does refuse a body Notify's clients could not read."""

from __future__ import annotations

import jsonschema
import pytest

from tests.hub.notify.conftest import assert_matches_notify_schema

GOOD_SMS = {
    "id": "6c3bc3c0-7e6b-4b4b-9b1e-1d1b5f0f4f6a",
    "reference": None,
    "content": {"body": "Hi", "from_number": "Switchboard"},
    "uri": "https://hub.example/v2/notifications/6c3bc3c0-7e6b-4b4b-9b1e-1d1b5f0f4f6a",
    "template": {"id": "0b4e5b39-64d8-4a0a-9c55-14a1b7d3b5f0", "version": 1, "uri": "https://hub.example/t"},
}


def test_a_good_body_passes() -> None:
    assert_matches_notify_schema(GOOD_SMS, "post_sms_response")


@pytest.mark.parametrize(
    "broken",
    [
        {k: v for k, v in GOOD_SMS.items() if k != "template"},
        {**GOOD_SMS, "id": "not-a-uuid"},
        {**GOOD_SMS, "template": {"id": GOOD_SMS["template"]["id"], "version": "1", "uri": "x"}},  # type: ignore[index]
    ],
)
def test_a_broken_body_fails(broken: dict[str, object]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        assert_matches_notify_schema(broken, "post_sms_response")
