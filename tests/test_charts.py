"""The shared SVG charts (opm_site/charts.py): round ticks covering the data, escaped labels, accessible markup,
and the degenerate inputs a fresh market has (no data, one point)."""

import itertools
import math
import re
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

from hypothesis import assume, given
from hypothesis import strategies as st

from opm_site import charts
from opm_site.charts import IntervalRow, Limit, Point, Series

SVG = "{http://www.w3.org/2000/svg}"


def svg_of(chart) -> ElementTree.Element:
    return ElementTree.fromstring(str(chart.svg))


def is_round(value: float, step: float) -> bool:
    """A multiple of the step, whose mantissa is 1, 2, 2.5 or 5."""
    mantissa = step / 10 ** math.floor(math.log10(step))
    return any(math.isclose(mantissa, m, rel_tol=1e-9) for m in (1, 2, 2.5, 5, 10)) and math.isclose(
        value / step, round(value / step), abs_tol=1e-6
    )


finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)


@given(finite, finite)
def test_ticks_are_round_evenly_spaced_and_cover_the_data(low, high):
    ticks = charts.nice_ticks(low, high)
    step = ticks[1] - ticks[0]
    assert step > 0
    assert ticks[0] <= min(low, high) + abs(step) * 1e-9 and ticks[-1] >= max(low, high) - abs(step) * 1e-9
    assert 2 <= len(ticks) <= 12
    for tick in ticks:
        assert is_round(tick, step), (tick, step)
    assert all(math.isclose(b - a, step, rel_tol=1e-6, abs_tol=1e-12) for a, b in itertools.pairwise(ticks))


@given(st.floats(min_value=1e-9, max_value=1e6), st.floats(min_value=1e-9, max_value=1e6))
def test_small_positive_ranges_get_round_ticks_too(a, b):
    assume(abs(a - b) > max(a, b) * 1e-6)
    ticks = charts.nice_ticks(a, b)
    assert ticks[0] <= min(a, b) and ticks[-1] >= max(a, b)
    assert len(ticks) <= 12


def test_ticks_print_as_written():
    assert charts.nice_ticks(0.1, 0.3) == [0.1, 0.15, 0.2, 0.25, 0.3]
    assert charts.nice_ticks(0, 97) == [0, 20, 40, 60, 80, 100]
    assert charts.nice_ticks(5, 5)[0] < 5 < charts.nice_ticks(5, 5)[-1]


@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)),
    st.integers(min_value=0, max_value=400 * 86400),
)
def test_time_ticks_are_whole_units_and_cover_the_range(start, seconds):
    end = start + timedelta(seconds=seconds)
    ticks = charts.time_ticks(start, end)
    assert ticks[0] <= start and ticks[-1] >= end
    assert 2 <= len(ticks) <= 12
    step = (ticks[1] - ticks[0]).total_seconds()
    assert all(t.timestamp() % step == 0 for t in ticks) and step == int(step)


def test_a_time_chart_labels_its_axes_and_draws_the_limit():
    start = datetime(2026, 3, 1, 9, tzinfo=UTC)
    points = [Point(start + timedelta(hours=h), 0.1 * h) for h in range(5)]
    chart = charts.line_chart(
        title="Budget spent",
        description="epsilon spent over time",
        series=[Series("spent", points, step=True)],
        x_title="time (UTC)",
        y_title="ε spent",
        limit=Limit(1.0, "limit ε = 1"),
        y_zero=True,
    )
    root = svg_of(chart)
    assert root.get("role") == "img" and root.get("viewBox")
    assert root.find(f"{SVG}title").text == "Budget spent" and root.find(f"{SVG}desc").text == "epsilon spent over time"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "time (UTC)" in texts and "ε spent" in texts and "limit ε = 1" in texts
    assert "09:00" in texts and "1.00" in texts  # round ticks, labelled
    html = str(chart)
    assert "<details>" in html and "2026-03-01 13:00:00 UTC" in html and "0.4" in html


def test_labels_are_escaped_everywhere():
    evil = '<script>alert("x")</script>'
    chart = charts.line_chart(
        title=evil,
        description=evil,
        series=[Series(evil, [Point(1, 1.0, label=evil)]), Series("b", [Point(2, 2.0)])],
        x_title=evil,
        y_title=evil,
        limit=Limit(3.0, evil),
    )
    bars = charts.interval_chart(title=evil, description=evil, rows=[IntervalRow(evil, 0.1, 0.0, 0.2)], x_title=evil)
    for html in (str(chart), str(bars)):
        assert "<script>" not in html and "&lt;script&gt;" in html
        svg_of(chart), svg_of(bars)  # still well-formed XML


def test_an_empty_series_says_so_instead_of_failing():
    chart = charts.line_chart(title="t", description="d", series=[Series("s", [])], x_title="x", y_title="y")
    assert "No data yet." in str(chart)
    svg_of(chart)
    assert "No estimates yet." in str(charts.interval_chart(title="t", description="d", rows=[], x_title="x"))


def test_a_single_point_is_drawn_with_axes_around_it():
    when = datetime(2026, 3, 1, tzinfo=UTC)
    chart = charts.line_chart(
        title="t", description="d", series=[Series("s", [Point(when, 0.5, 0.4, 0.6)])], x_title="x", y_title="y"
    )
    root = svg_of(chart)
    assert len(root.findall(f"{SVG}circle")) == 1
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert len([t for t in texts if re.fullmatch(r"[\d.,]+", t or "")]) >= 2
    assert "0.4 to 0.6" in str(chart.table)


def test_interval_chart_draws_a_bar_and_whisker_per_row_with_a_zero_line():
    rows = [IntervalRow("plan a", 0.012, 0.002, 0.022), IntervalRow("plan b", -0.004, -0.01, 0.002)]
    chart = charts.interval_chart(
        title="gains", description="d", rows=rows, x_title="gain over -Oz (%)", x_format=charts.percent_format()
    )
    root = svg_of(chart)
    assert len(root.findall(f"{SVG}rect")) == 2
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "plan a" in texts and "gain over -Oz (%)" in texts and "0.0%" in texts
    assert "1.2%" in str(chart.table) and "-1.0% to 0.2%" in str(chart.table)
