"""Charts drawn on the server as SVG: time series (lines or bars) and funnels.

Every report and dashboard draws its charts here, so they look and read the same: axes with
round ticks, dates under the x axis, a legend, a ``<title>`` and ``role="img"`` for screen
readers, and the same figures as a table (the text alternative, inside ``<details>``). No
JavaScript and nothing from a CDN; the SVG scales to its container (``viewBox``), drawn for
at most 1,200 px so that it fits a 1,280 px screen beside the admin's margins. Text and axes
use ``currentColor``, so they follow the page's light or dark theme.

A chart is an object with ``__html__``: put it in a template as ``{{ chart }}``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

# Okabe-Ito: told apart with the common colour blindnesses. Its black and yellow would vanish
# on the dark and the light theme: the page's own text colour and a wine red stand in for them.
PALETTE = ("#0072B2", "#009E73", "#D55E00", "#CC79A7", "#E69F00", "#56B4E9", "currentColor", "#882255")
DASHES = ("none", "8 4", "2 3", "10 3 2 3", "4 4", "1 5")
WIDTH = 1200
HEIGHT = 280
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 64, 16, 36, 40
MAX_X_LABELS = 12


@dataclass(frozen=True)
class Series:
    """One named line (or bar group member) over the chart's days."""

    name: str
    values: Sequence[float]
    colour: str = ""


@dataclass(frozen=True)
class Chart:
    """A drawn chart: the SVG and the table that says the same in words."""

    title: str
    svg: SafeString
    headers: Sequence[str]
    rows: Sequence[Sequence[str]] = field(default_factory=list)

    def table(self) -> SafeString:
        head = "".join(format_html('<th scope="col">{}</th>', h) for h in self.headers)
        body = "".join(
            "<tr>"
            + format_html('<th scope="row">{}</th>', row[0])
            + "".join(format_html("<td>{}</td>", cell) for cell in row[1:])
            + "</tr>"
            for row in self.rows
        )
        caption = format_html("<caption>{}</caption>", self.title)
        table = (
            f'<table class="chart-data">{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
        )
        return mark_safe(table)  # noqa: S308 - every part is escaped above

    def __html__(self) -> SafeString:
        return format_html(
            '<figure class="chart"><figcaption>{}</figcaption>{}<details><summary>The figures as a table</summary>{}'
            "</details></figure>",
            self.title,
            self.svg,
            self.table(),
        )

    def __str__(self) -> str:
        return str(self.__html__())


def nice_ticks(peak: float, *, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``peak`` (1, 2, 2.5 or 5 times a power of ten apart)."""
    if peak <= 0:
        return [0.0, 1.0]
    raw = peak / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    if step < 1 and peak >= 1:
        step = 1
    top = math.ceil(peak / step) * step
    return [round(i * step, 6) for i in range(round(top / step) + 1)]


def _number(value: float) -> str:
    if value == int(value):
        value = int(value)
        if abs(value) >= 1_000_000:
            return f"{value / 1_000_000:g}M"
        if abs(value) >= 10_000:
            return f"{value / 1000:g}k"
        return f"{value:,}"
    return f"{value:,.2f}"


def _id(title: str, *parts: object) -> str:
    digest = hashlib.blake2s(repr((title, parts)).encode(), digest_size=4).hexdigest()
    return f"chart-{digest}"


def _svg(title: str, description: str, body: str, *, height: int, key: object) -> SafeString:
    chart_id = _id(title, key)
    return mark_safe(  # noqa: S308 - callers escape every text they put in body
        f'<svg class="chart-svg" viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'style="max-width:{WIDTH}px" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="12" '
        f'fill="currentColor">'
        f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(description)}</desc>'
        f"{body}</svg>"
    )


def _legend(series: Sequence[tuple[str, str]]) -> str:
    parts, x = [], MARGIN_LEFT
    for name, colour in series:
        parts.append(
            f'<rect x="{x}" y="8" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 16}" y="18">{escape(name)}</text>'
        )
        x += 28 + 7 * len(name)
    return f'<g class="legend">{"".join(parts)}</g>'


def _colours(series: Sequence[Series]) -> list[str]:
    return [s.colour or PALETTE[i % len(PALETTE)] for i, s in enumerate(series)]


def time_series(
    *,
    title: str,
    days: Sequence[date],
    series: Sequence[Series],
    kind: str = "line",
    unit: str = "messages",
    height: int = HEIGHT,
) -> Chart:
    """Lines (``kind="line"``) or grouped bars (``"bar"``) per day, with a y axis in ``unit``."""
    colours = _colours(series)
    peak = max([v for s in series for v in s.values] + [0])
    ticks = nice_ticks(peak)
    top = ticks[-1] or 1
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = height - MARGIN_TOP - MARGIN_BOTTOM
    bottom = MARGIN_TOP + plot_h
    slot = plot_w / max(len(days), 1)

    def y(value: float) -> float:
        return round(bottom - plot_h * value / top, 1)

    def x_mid(index: int) -> float:
        return round(MARGIN_LEFT + slot * (index + 0.5), 1)

    parts: list[str] = []
    for tick in ticks:  # gridlines and y labels
        parts.append(
            f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{y(tick)}" y2="{y(tick)}" '
            f'stroke="currentColor" stroke-opacity="0.15"/>'
            f'<text x="{MARGIN_LEFT - 6}" y="{y(tick) + 4}" text-anchor="end">{_number(tick)}</text>'
        )
    parts.append(
        f'<line x1="{MARGIN_LEFT}" x2="{MARGIN_LEFT}" y1="{MARGIN_TOP}" y2="{bottom}" stroke="currentColor"/>'
        f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{bottom}" y2="{bottom}" stroke="currentColor"/>'
        f'<text x="14" y="{MARGIN_TOP + plot_h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {MARGIN_TOP + plot_h / 2})">{escape(unit)}</text>'
    )
    every = max(1, math.ceil(len(days) / MAX_X_LABELS))
    for index, day in enumerate(days):  # date labels under the x axis
        if index % every == 0:
            parts.append(
                f'<line x1="{x_mid(index)}" x2="{x_mid(index)}" y1="{bottom}" y2="{bottom + 4}" stroke="currentColor"/>'
                f'<text x="{x_mid(index)}" y="{bottom + 18}" text-anchor="middle">{day:%b %-d}</text>'
            )
    if days:
        parts.append(
            f'<text x="{WIDTH - MARGIN_RIGHT}" y="{bottom + 34}" text-anchor="end" fill-opacity="0.7">'
            f"{days[0]:%Y-%m-%d} to {days[-1]:%Y-%m-%d} (UTC days)</text>"
        )
    if kind == "bar":
        width = max(1.0, slot * 0.8 / max(len(series), 1))
        for s_index, (s, colour) in enumerate(zip(series, colours, strict=True)):
            for index, value in enumerate(s.values):
                left = round(MARGIN_LEFT + slot * index + slot * 0.1 + width * s_index, 1)
                parts.append(
                    f'<rect x="{left}" y="{y(value)}" width="{round(width, 1)}" height="{round(bottom - y(value), 1)}" '
                    f'fill="{colour}"><title>{escape(s.name)} {days[index]:%Y-%m-%d}: {_number(value)}</title></rect>'
                )
    else:
        for s_index, (s, colour) in enumerate(zip(series, colours, strict=True)):
            points = " ".join(f"{x_mid(i)},{y(v)}" for i, v in enumerate(s.values))
            dash = DASHES[s_index % len(DASHES)]  # told apart without colour, and where lines meet
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2" '
                f'stroke-dasharray="{dash}"/>'
            )
            if len(s.values) <= 62:
                parts.extend(
                    f'<circle cx="{x_mid(i)}" cy="{y(v)}" r="3" fill="{colour}">'
                    f"<title>{escape(s.name)} {days[i]:%Y-%m-%d}: {_number(v)}</title></circle>"
                    for i, v in enumerate(s.values)
                )
    parts.append(_legend([(s.name, c) for s, c in zip(series, colours, strict=True)]))
    totals = ", ".join(f"{s.name} {_number(sum(s.values))}" for s in series)
    description = (
        f"{unit.capitalize()} per day" + (f", {days[0]} to {days[-1]}" if days else "") + f": {totals}."
    )
    rows = [[f"{day:%Y-%m-%d}", *(_number(s.values[i]) for s in series)] for i, day in enumerate(days)]
    return Chart(
        title,
        _svg(title, description, "".join(parts), height=height, key=(tuple(days), totals)),
        ["Day", *(s.name for s in series)],
        rows,
    )


def funnel(*, title: str, steps: Sequence[tuple[str, int]], colour: str = PALETTE[0]) -> Chart:
    """One horizontal bar per step, as wide as its count, with the count and its share of the
    first step (and of the step before) written beside it."""
    bar_h, gap = 26, 10
    # As wide as the longest step's name at 12 px (about 7 px a character, wide letters
    # included): a fixed 150 cut "Step wait_click (wait_for)" to "tep wait_click…".
    label_w = min(max(150, 7 * max((len(name) for name, _ in steps), default=0) + 16), 420)
    height = MARGIN_TOP + len(steps) * (bar_h + gap) + 10
    first = steps[0][1] if steps else 0
    peak = max([n for _, n in steps] + [1])
    plot_w = WIDTH - label_w - 420  # room for the words beside the widest bar
    parts: list[str] = []
    rows: list[list[str]] = []
    before: int | None = None
    for index, (name, count) in enumerate(steps):
        top = MARGIN_TOP + index * (bar_h + gap)
        width = round(plot_w * count / peak, 1)
        of_first = f"{100 * count / first:.1f}%" if first else "—"
        of_before = f"{100 * count / before:.1f}%" if before else "—"
        words = f"{_number(count)} · {of_first} of {steps[0][0].lower()}"
        if index:
            words += f" · {of_before} of {steps[index - 1][0].lower()}"
        parts.append(
            f'<text x="{label_w - 8}" y="{top + bar_h * 0.65}" text-anchor="end">{escape(name)}</text>'
            f'<rect x="{label_w}" y="{top}" width="{max(width, 1)}" height="{bar_h}" fill="{colour}" '
            f'fill-opacity="{1 - 0.08 * index:.2f}"><title>{escape(name)}: {escape(words)}</title></rect>'
            f'<text x="{label_w + max(width, 1) + 8}" y="{top + bar_h * 0.65}">{escape(words)}</text>'
        )
        rows.append([name, _number(count), of_first, of_before])
        before = count
    parts.append(
        f'<line x1="{label_w}" x2="{label_w}" y1="{MARGIN_TOP - 4}" y2="{height - 8}" stroke="currentColor"/>'
    )
    description = "; ".join(f"{name} {count}" for name, count in steps) + "."
    return Chart(
        title,
        _svg(title, description, "".join(parts), height=height, key=tuple(steps)),
        [
            "Step",
            "Count",
            f"Share of {steps[0][0].lower() if steps else 'first'}",
            "Share of the step before",
        ],
        rows,
    )
