"""The journey diagram is SVG drawn on the server: boxes, arrows, labelled branches (17.3)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hub.journeys.diagram import END, journey_edges, journey_svg
from tests.hub.journeys.test_summaries import CART

SVG = "{http://www.w3.org/2000/svg}"


def test_edges_carry_the_labels_of_choices() -> None:
    edges = {(e.source, e.target, e.label) for e in journey_edges(CART)}
    assert edges == {
        ("email", "opened", "sent"),
        ("email", "sms", "blocked"),
        ("opened", "done", "opened"),
        ("opened", "sms", "timeout"),
        ("sms", "done", ""),
        ("done", END, ""),
    }


def test_svg_is_well_formed_with_a_box_per_step_and_labelled_arrows() -> None:
    svg = journey_svg(CART)
    root = ET.fromstring(svg)  # noqa: S314 - our own markup
    boxes = root.findall(f"{SVG}g[@class='journey-step']")
    assert [b.get("id") for b in boxes] == ["diagram-email", "diagram-opened", "diagram-sms", "diagram-done"]
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"blocked", "timeout", "opened", "End"} <= set(texts)
    arrows = [e for e in root.iter() if e.get("marker-end") == "url(#arrow)"]
    assert len(arrows) == 6 + 1  # every edge, and the trigger's arrow into the first step
    assert "<script" not in svg and "http" not in svg.replace("http://www.w3.org/2000/svg", "")


def test_hostile_text_is_escaped() -> None:
    hostile = {
        **CART,
        "key": "x",
        "steps": [
            {
                "id": "b",
                "type": "branch",
                "branches": [{"condition": "true", "next": "b", "label": "<script>alert(1)</script>"}],
            }
        ],
    }
    svg = journey_svg(hostile)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    ET.fromstring(svg)  # noqa: S314 - still well-formed


def test_a_branch_and_its_default_to_the_same_step_are_one_labelled_arrow() -> None:
    value = {
        **CART,
        "steps": [
            {
                "id": "b",
                "type": "branch",
                "branches": [{"condition": "true", "next": "done", "label": "big carts"}],
            },
            {"id": "done", "type": "exit"},
        ],
    }
    texts = [t.text for t in ET.fromstring(journey_svg(value)).iter(f"{SVG}text")]  # noqa: S314
    assert "big carts / otherwise" in texts and "otherwise" not in texts


def test_lines_and_words_outside_the_boxes_follow_the_page_colour_for_the_dark_theme() -> None:
    """The arrows, the trigger and the arrows' labels were drawn in fixed dark greys, unreadable
    on the admin's dark theme; words inside the pale boxes stay dark (readable on both)."""
    root = ET.fromstring(journey_svg(CART))  # noqa: S314 - our own markup
    boxes = {id(t) for g in root.iter(f"{SVG}g") for t in g.iter(f"{SVG}text")}
    outside = [t for t in root.iter(f"{SVG}text") if id(t) not in boxes]
    assert outside and {t.get("fill") for t in outside} == {"currentColor"}
    assert {t.get("fill") for t in root.iter(f"{SVG}text") if id(t) in boxes} == {"#111827"}
    strokes = {e.get("stroke") for e in root.iter() if e.get("stroke")}
    assert strokes == {"currentColor"}
    arrow_head = root.find(f".//{SVG}marker/{SVG}path")
    assert arrow_head is not None and arrow_head.get("fill") == "currentColor"
