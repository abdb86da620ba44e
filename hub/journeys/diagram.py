"""A journey drawn as SVG on the server: a box per step, top to bottom in order, and an arrow
for every way a run can go, labelled where there is a choice ("blocked", "clicked",
"timeout", a branch's label). No JavaScript, no library, no CDN: the admin page embeds the
markup as it is. Every text is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

from hub.journeys.summaries import CHANNEL_WORDS, duration_words, following

BOX_W, BOX_H, GAP, LEFT, TOP = 340, 54, 46, 150, 40
KIND_COLOURS = {
    "send": "#dbeafe",
    "wait": "#fef3c7",
    "wait_for": "#fde68a",
    "branch": "#ede9fe",
    "digest": "#dcfce7",
    "exit": "#e5e7eb",
}
STEP_TEXT = "#111827"  # on every KIND_COLOURS fill: above 12:1
END = "__end__"


@dataclass(frozen=True)
class Edge:
    source: str
    target: str  # a step id, or END
    label: str


def _short(step: Mapping[str, Any]) -> str:
    kind = step["type"]
    if kind in ("send", "digest"):
        channels = "/".join(CHANNEL_WORDS[c] for c in step.get("channels", [])) or "message"
        return f"{'Digest' if kind == 'digest' else 'Send'} {channels}: {step['template']}"
    if kind == "wait":
        return (
            f"Wait {duration_words(step['duration'])}"
            if "duration" in step
            else f"Wait until {step['until']}"
        )
    if kind == "wait_for":
        if "message" in step:
            return f"Wait ≤{duration_words(step['timeout'])} for {step['message']['step']} {'/'.join(step['message']['status'])}"
        return f"Wait ≤{duration_words(step['timeout'])} for {step['event']}"
    if kind == "branch":
        return f"Branch ({len(step['branches'])} condition{'s' if len(step['branches']) != 1 else ''})"
    return "Exit"


def journey_edges(definition: Mapping[str, Any]) -> list[Edge]:
    """Every way out of every step: (step, where to, label; "" where there is no choice)."""
    edges: list[Edge] = []
    for step in definition["steps"]:
        step_id = step["id"]

        def go(field: str, label: str, step: Mapping[str, Any] = step, step_id: str = step_id) -> None:
            target = step.get(field) or step.get("next") or following(definition, step_id)
            edges.append(Edge(step_id, target or END, label))

        kind = step["type"]
        if kind == "exit":
            edges.append(Edge(step_id, END, ""))
        elif kind in ("send", "digest"):
            go("", "sent" if "on_blocked" in step else "")
            if "on_blocked" in step:
                edges.append(Edge(step_id, step["on_blocked"], "blocked"))
        elif kind == "wait_for":
            matched = "/".join(step["message"]["status"]) if "message" in step else step["event"]
            go("on_match", matched)
            go("on_timeout", "timeout")
        elif kind == "branch":
            for index, branch in enumerate(step["branches"]):
                edges.append(Edge(step_id, branch["next"], branch.get("label") or f"branch {index + 1}"))
            go("default", "otherwise")
        else:
            go("", "")
    return edges


def _text(
    x: float,
    y: float,
    text: str,
    *,
    size: int = 13,
    anchor: str = "middle",
    weight: str = "normal",
    in_box: bool = False,
) -> str:
    """A label: dark on a step's pale box; outside the boxes, the page's own text colour
    (``currentColor``), so it stays readable in the admin's dark theme."""
    fill = STEP_TEXT if in_box else "currentColor"
    return (
        f'<text x="{x:.0f}" y="{y:.0f}" font-size="{size}" text-anchor="{anchor}" '
        f'font-weight="{weight}" font-family="sans-serif" fill="{fill}">{escape(text)}</text>'
    )


def journey_svg(definition: Mapping[str, Any]) -> str:
    """The SVG markup of the journey's diagram (safe to embed: every text is escaped)."""
    steps = list(definition["steps"])
    rows = {step["id"]: index for index, step in enumerate(steps)}
    rows[END] = len(steps)
    width = LEFT + BOX_W + 260
    height = TOP + len(steps) * (BOX_H + GAP) + BOX_H + 10
    centre = LEFT + BOX_W / 2

    def top(row: int) -> float:
        return TOP + row * (BOX_H + GAP)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="journey-diagram" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Diagram of journey {escape(str(definition["key"]))}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="currentColor"/></marker></defs>',
        _text(centre, 22, f"When {definition['trigger']['event']} happens", weight="bold"),
        f'<line x1="{centre}" y1="28" x2="{centre}" y2="{top(0) - 2}" stroke="currentColor" marker-end="url(#arrow)"/>',
    ]
    for step in steps:
        row = rows[step["id"]]
        y = top(row)
        colour = KIND_COLOURS[step["type"]]
        parts.append(
            f'<g class="journey-step" id="diagram-{escape(step["id"])}"><rect x="{LEFT}" y="{y}" '
            f'width="{BOX_W}" height="{BOX_H}" rx="8" fill="{colour}" stroke="currentColor"/>'
            + _text(centre, y + 21, step["id"], size=12, weight="bold", in_box=True)
            + _text(centre, y + 40, _short(step)[:52], size=12, in_box=True)
            + "</g>"
        )
    end_y = top(rows[END])
    parts.append(
        f'<g class="journey-end"><ellipse cx="{centre}" cy="{end_y + BOX_H / 2}" rx="60" ry="20" '
        f'fill="#f3f4f6" stroke="currentColor"/>{_text(centre, end_y + BOX_H / 2 + 5, "End", in_box=True)}</g>'
    )
    # Arrows: to the box just below, straight down; any other, a curve out to the right (down)
    # or to the left (back up, a loop), each a little further out so they do not overlap.
    right = left = 0
    # Two ways to the same step (a branch and its default) are one arrow with both labels.
    merged: dict[tuple[str, str], list[str]] = {}
    for edge in journey_edges(definition):
        labels = merged.setdefault((edge.source, edge.target), [])
        if edge.label and edge.label not in labels:
            labels.append(edge.label)
    for (edge_source, edge_target), labels in merged.items():
        edge = Edge(edge_source, edge_target, " / ".join(labels))
        source, target = rows[edge.source], rows.get(edge.target)
        if target is None:
            continue
        y1 = top(source) + BOX_H
        if target == source + 1:
            parts.append(
                f'<line x1="{centre}" y1="{y1}" x2="{centre}" y2="{top(target) - 2}" stroke="currentColor" '
                'marker-end="url(#arrow)"/>'
            )
            if edge.label:
                parts.append(_text(centre + 8, y1 + GAP / 2 + 4, edge.label, size=11, anchor="start"))
            continue
        ya, yb = top(source) + BOX_H / 2, top(target) + BOX_H / 2
        if target > source:
            right += 1
            x_edge, x_out = LEFT + BOX_W, LEFT + BOX_W + 30 + 28 * right
            label_x, anchor = x_edge + 0.75 * (x_out - x_edge) + 6, "start"
        else:
            left += 1
            x_edge, x_out = LEFT, LEFT - 30 - 24 * left
            label_x, anchor = x_edge + 0.75 * (x_out - x_edge) - 6, "end"
        parts.append(
            f'<path d="M{x_edge},{ya} C{x_out},{ya} {x_out},{yb} {x_edge + (2 if target > source else -2)},{yb}" '
            'fill="none" stroke="currentColor" stroke-dasharray="5,3" marker-end="url(#arrow)"/>'
        )
        if edge.label:
            parts.append(_text(label_x, (ya + yb) / 2, edge.label, size=11, anchor=anchor))
    parts.append("</svg>")
    return "".join(parts)
