"""hub.charts: server-drawn SVG with axes, dates, legends and a text alternative."""

from __future__ import annotations

from datetime import date, timedelta

from hub.charts import Series, funnel, nice_ticks, time_series


def test_nice_ticks_are_round_and_cover_the_peak():
    assert nice_ticks(0) == [0.0, 1.0]
    assert nice_ticks(7) == [0, 2, 4, 6, 8]
    assert nice_ticks(1234)[-1] >= 1234 and nice_ticks(1234)[1] in (250, 500)
    assert nice_ticks(3) == [0, 1, 2, 3]


def test_a_time_series_has_axes_dates_a_legend_and_a_table():
    days = [date(2026, 11, 1) + timedelta(days=i) for i in range(30)]
    chart = time_series(
        title="Per day <b>",
        days=days,
        series=[Series("Sent", [i * 10 for i in range(30)]), Series("Clicked", [1] * 30)],
    )
    html = str(chart)
    assert 'role="img"' in html and "<title id=" in html and "<desc id=" in html
    assert "Per day &lt;b&gt;" in html and "<b>" not in html  # titles are escaped
    assert "Nov 1" in html and "2026-11-01 to 2026-11-30" in html  # dates under the x axis
    assert ">290<" in html or ">300<" in html  # the y axis reaches the peak
    assert "Sent" in html and "Clicked" in html  # legend
    assert "<figcaption>Per day &lt;b&gt;</figcaption>" in html
    assert "<details><summary>The figures as a table</summary>" in html
    assert chart.rows[0] == ["2026-11-01", "0", "1"] and len(chart.rows) == 30
    assert (
        'viewBox="0 0 1200' in html
        and "script" not in html
        and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    )


def test_x_labels_thin_out_on_long_periods():
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(366)]
    html = str(time_series(title="Year", days=days, series=[Series("Sent", [1] * 366)], kind="bar"))
    assert html.count('text-anchor="middle">') <= 14


def test_a_funnel_says_each_steps_share():
    chart = funnel(
        title="Funnel", steps=[("Accepted", 200), ("Sent", 100), ("Delivered", 50), ("Clicked", 0)]
    )
    html = str(chart)
    assert "50.0% of accepted" in html and "50.0% of sent" in html
    assert chart.rows[-1] == ["Clicked", "0", "0.0%", "0.0%"]
    assert funnel(title="Empty", steps=[("Accepted", 0), ("Sent", 0)]).rows[1][2] == "—"


def test_every_series_colour_shows_on_the_light_and_the_dark_theme():
    """Okabe-Ito's black vanished on the admin's dark theme and its yellow on the light one: an
    eighth series was invisible on one of them. Text and axes follow the page (currentColor)."""
    from hub.charts import PALETTE

    assert "#000000" not in PALETTE and "#F0E442" not in PALETTE
    days = [date(2026, 11, 1) + timedelta(days=i) for i in range(3)]
    chart = time_series(title="Eight", days=days, series=[Series(f"s{i}", [i, i, i]) for i in range(8)])
    svg = str(chart.svg)
    assert 'fill="currentColor"' in svg.split(">", 1)[0]  # the <svg> itself: text in the page's colour
    assert "#000000" not in svg and "#F0E442" not in svg


def test_a_funnel_leaves_room_for_its_longest_step_name() -> None:
    """A journey's step names are long ("Step wait_click (wait_for)"): the fixed 150 px label
    column cut their first letters off (seen on the journey report's screenshot)."""
    import re

    from hub.charts import funnel

    name = "Step wait_click (wait_for)"
    chart = funnel(title="Runs", steps=[("Entered", 10), (name, 5)])
    found = re.search(r'<text x="([\d.]+)"[^>]*text-anchor="end">' + re.escape(name), str(chart.svg))
    assert found is not None
    label_x = float(found.group(1))
    assert label_x >= 7 * len(name)  # the label, right-aligned at x, starts inside the picture
