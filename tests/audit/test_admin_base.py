"""labelled_rows: any JSON object as labelled rows people can read, everything escaped."""

from __future__ import annotations

from audit.admin_base import _flatten, labelled_rows


def test_nested_objects_and_lists_become_labelled_rows():
    rows = list(
        _flatten({"to_digest": "ab", "rule": {"key": "quiet", "params": [{"start": "21:00"}]}, "tags": []})
    )
    assert rows == [
        ("To digest", "ab"),
        ("Rule → Key", "quiet"),
        ("Rule → Params 1 → Start", "21:00"),
        ("Tags", "—"),
    ]


def test_everything_is_escaped():
    html = str(labelled_rows({"<script>": "<img src=x onerror=alert(1)>"}))
    assert "<script>" not in html and "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_an_empty_object_is_a_dash():
    assert str(labelled_rows({})) == "<p>—</p>"
