"""Server-side SVG charts for the public site and the admin: no JavaScript, no network at view time.

A chart is a `<figure>` holding an accessible SVG (role="img", `<title>`, `<desc>`, a viewBox so it scales to
any width) and, in a `<details>`, the same numbers as a table, so they are there without the picture. Every
label passes through `escape`: participant-supplied names are safe. Two kinds:

* `line_chart`: one or more series over a numeric or time x axis, drawn as lines or steps, with optional
  interval whiskers per point and an optional labelled horizontal limit line;
* `interval_chart`: horizontal bars (one per row) with an interval whisker each, for estimates with their
  uncertainty.

Ticks are "nice" (1, 2, 2.5 or 5 times a power of ten; whole seconds, minutes, hours or days on a time axis)
and cover the data.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

Number = float | int
XValue = Number | datetime
Formatter = Callable[[float], str]

WIDTH, HEIGHT = 720, 360
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 84, 44, 20, 64
FONT = 14
PALETTE = ("#0b5cad", "#b35900", "#1a7f37", "#8250df", "#a40e26", "#57606a")
_MANTISSAS = (1.0, 2.0, 2.5, 5.0, 10.0)
_TIME_STEPS = (
    1, 2, 5, 10, 15, 30,
    60, 120, 300, 600, 900, 1800,
    3600, 7200, 10800, 21600, 43200,
    86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400, 91 * 86400, 182 * 86400, 364 * 86400,
)  # fmt: skip


# --- ticks -------------------------------------------------------------------------------------------


def nice_step(span: float, count: int = 5) -> float:
    """The smallest step of 1, 2, 2.5 or 5 times a power of ten that covers `span` in at most `count` steps."""
    if not (math.isfinite(span) and span > 0):
        return 1.0
    raw = span / max(1, count)
    power = 10.0 ** math.floor(math.log10(raw))
    for mantissa in _MANTISSAS:
        if mantissa * power >= raw * (1 - 1e-12):
            return mantissa * power
    return 10.0 * power  # pragma: no cover - the last mantissa always fits


def _decimals(step: float) -> int:
    """Decimal places that show every multiple of `step` exactly (2.5e-3 needs 4)."""
    return max(0, 1 - math.floor(math.log10(step)))


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values from at most `low` to at least `high`: multiples of a `nice_step`, rounded to the
    step's decimals so they print as written (0.1 + 0.2 never shows as 0.30000000000000004)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"ticks need finite bounds, got ({low!r}, {high!r})")
    if low > high:
        low, high = high, low
    if high - low <= max(abs(low), abs(high)) * 1e-9:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    step = nice_step(high - low, count)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    places = _decimals(step)
    return [round(k * step, places) + 0.0 for k in range(first, last + 1)]


def time_ticks(low: datetime, high: datetime, count: int = 5) -> list[datetime]:
    """Round instants (whole seconds, minutes, hours, days or weeks in UTC) from at most `low` to at least
    `high`."""
    start, end = low.timestamp(), high.timestamp()
    if start > end:
        start, end = end, start
    if end - start < 1:
        start, end = math.floor(start) - 1, math.ceil(end) + 1
    raw = (end - start) / max(1, count)
    step = next((s for s in _TIME_STEPS if s >= raw), None)
    if step is None:
        step = _TIME_STEPS[-1] * math.ceil(raw / _TIME_STEPS[-1])
    first, last = math.floor(start / step), math.ceil(end / step)
    return [datetime.fromtimestamp(k * step, tz=UTC) for k in range(first, last + 1)]


def time_label(ticks: Sequence[datetime]) -> Callable[[datetime], str]:
    """A label format fitting the ticks' spacing: dates for days apart, times of day (with the date when the
    ticks span several days) below that."""
    spacing = (ticks[1] - ticks[0]).total_seconds() if len(ticks) > 1 else 86400
    if spacing >= 86400:
        return lambda t: t.strftime("%Y-%m-%d")
    if spacing < 60:
        return lambda t: t.strftime("%H:%M:%S")
    if (ticks[-1] - ticks[0]).total_seconds() >= 86400:
        return lambda t: t.strftime("%m-%d %H:%M")
    return lambda t: t.strftime("%H:%M")


def number_format(ticks: Sequence[float]) -> Formatter:
    """A plain number format with as many decimals as the ticks' step needs."""
    step = nice_step(ticks[1] - ticks[0], 1) if len(ticks) > 1 else 1.0
    places = next(p for p in range(_decimals(step) + 1) if math.isclose(round(step, p), step, rel_tol=1e-9))
    return lambda value: f"{value:,.{places}f}"


def percent_format(places: int = 1) -> Formatter:
    """Fractions shown as percentages (0.0123 → 1.2%)."""
    return lambda value: f"{value * 100:.{places}f}%"


# --- data --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """One observation; `low` and `high` (both or neither) draw an interval whisker around it."""

    x: XValue
    y: float
    low: float | None = None
    high: float | None = None
    label: str = ""


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[Point]
    step: bool = False
    """Draw as a step function (the value holds until the next point): running totals such as budget spent."""
    markers: bool = True


@dataclass(frozen=True)
class Limit:
    """A horizontal reference line with its label, e.g. a budget's limit."""

    value: float
    label: str


@dataclass(frozen=True)
class IntervalRow:
    label: str
    value: float
    low: float
    high: float
    note: str = ""


@dataclass(frozen=True)
class Chart:
    """The rendered chart: the SVG and its data table; `str(chart)` (or `{{ chart }}`) is the whole figure."""

    svg: SafeString
    table: SafeString
    caption: str
    table_summary: str = "The numbers in this chart"

    def __html__(self) -> SafeString:
        return format_html(
            '<figure class="chart"><div class="chart-scroll" tabindex="0">{}</div><figcaption>{}</figcaption>'
            "<details><summary>{}</summary>"
            '<div class="table-wrap" tabindex="0">{}</div></details></figure>',
            self.svg,
            self.caption,
            self.table_summary,
            self.table,
        )

    def __str__(self) -> str:
        return self.__html__()


# --- drawing -----------------------------------------------------------------------------------------


def _fmt(value: float) -> str:
    """Coordinates with two decimals: compact and exact enough for a 720-unit viewBox."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


class _Scale:
    def __init__(self, low: float, high: float, start: float, end: float) -> None:
        self.low, self.high, self.start, self.end = low, high, start, end

    def __call__(self, value: float) -> float:
        if self.high == self.low:
            return (self.start + self.end) / 2
        return self.start + (value - self.low) / (self.high - self.low) * (self.end - self.start)


def _x_number(value: XValue) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


def _svg_open(title: str, description: str, ident: str, height: int = HEIGHT) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" preserveAspectRatio="xMidYMid meet" '
        f'font-family="system-ui, sans-serif" font-size="{FONT}">'
        f'<title id="{ident}-title">{escape(title)}</title><desc id="{ident}-desc">{escape(description)}</desc>'
    )


def _ident(title: str) -> str:
    """A stable id for the title/desc references, from the title (several charts on a page differ by title)."""
    return "chart-" + hashlib.sha256(title.encode()).hexdigest()[:10]


def _empty(title: str, description: str, message: str, headers: Sequence[str]) -> Chart:
    ident = _ident(title)
    svg = (
        _svg_open(title, description, ident, height=80)
        + f'<rect x="0.5" y="0.5" width="{WIDTH - 1}" height="79" fill="none" stroke="#d0d7de"/>'
        + f'<text x="{WIDTH / 2}" y="45" text-anchor="middle" fill="#57606a">{escape(message)}</text></svg>'
    )
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    table = f'<table><thead><tr>{head}</tr></thead><tbody><tr><td colspan="{len(headers)}">{escape(message)}</td>'
    table += "</tr></tbody></table>"
    return Chart(svg=mark_safe(svg), table=mark_safe(table), caption=message)


def line_chart(
    *,
    title: str,
    description: str,
    series: Sequence[Series],
    x_title: str,
    y_title: str,
    y_format: Formatter | None = None,
    limit: Limit | None = None,
    caption: str = "",
    empty: str = "No data yet.",
    y_zero: bool = False,
    table_format: Formatter | None = None,
) -> Chart:
    """Series over a time axis (`datetime` x values, labelled in UTC) or a numeric one, with axis titles (put
    the unit in them), optional whiskers and limit line. `y_zero` keeps 0 on the y axis (running totals);
    `table_format` formats the data table's values (default: the axis format, else six significant digits)."""
    points = [p for s in series for p in s.points]
    headers = ["Series", x_title, y_title, "Interval"]
    if not points:
        return _empty(title, description, empty, headers)
    is_time = isinstance(points[0].x, datetime)
    ys = [p.y for p in points] + [v for p in points for v in (p.low, p.high) if v is not None]
    if limit is not None:
        ys.append(limit.value)
    if y_zero:
        ys.append(0.0)
    y_ticks = nice_ticks(*_padded(min(ys), max(ys)))
    y_label = y_format or number_format(y_ticks)
    if is_time:
        x_ticks_t = time_ticks(min(p.x for p in points), max(p.x for p in points))
        x_label_t = time_label(x_ticks_t)
        x_ticks = [t.timestamp() for t in x_ticks_t]
        x_labels = [x_label_t(t) for t in x_ticks_t]
    else:
        x_ticks = nice_ticks(min(_x_number(p.x) for p in points), max(_x_number(p.x) for p in points))
        x_format = number_format(x_ticks)
        x_labels = [x_format(t) for t in x_ticks]
    left, right = MARGIN_LEFT, WIDTH - MARGIN_RIGHT
    top, bottom = MARGIN_TOP + (24 if len(series) > 1 or limit else 0), HEIGHT - MARGIN_BOTTOM
    sx = _Scale(x_ticks[0], x_ticks[-1], left, right)
    sy = _Scale(y_ticks[0], y_ticks[-1], bottom, top)
    ident = _ident(title)
    parts = [_svg_open(title, description, ident)]
    parts.append(_axes(left, right, top, bottom, sx, sy, x_ticks, x_labels, y_ticks, [y_label(t) for t in y_ticks]))
    parts.append(
        f'<text x="{_fmt((left + right) / 2)}" y="{HEIGHT - 12}" text-anchor="middle" fill="#1b1f24">'
        f"{escape(x_title)}</text>"
        f'<text transform="translate(18 {_fmt((top + bottom) / 2)}) rotate(-90)" text-anchor="middle" '
        f'fill="#1b1f24">{escape(y_title)}</text>'
    )
    if limit is not None:
        y = sy(limit.value)
        parts.append(
            f'<line x1="{left}" x2="{right}" y1="{_fmt(y)}" y2="{_fmt(y)}" stroke="#a40e26" stroke-width="2" '
            f'stroke-dasharray="8 5"/><text x="{right}" y="{_fmt(y - 6)}" text-anchor="end" fill="#a40e26">'
            f"{escape(limit.label)}</text>"
        )
    legend_x = left
    for number, item in enumerate(series):
        colour = PALETTE[number % len(PALETTE)]
        coords = [(sx(_x_number(p.x)), sy(p.y)) for p in sorted(item.points, key=lambda p: _x_number(p.x))]
        if len(coords) > 1:
            path = [f"M{_fmt(coords[0][0])} {_fmt(coords[0][1])}"]
            for x1, y1 in coords[1:]:
                path.append(f"H{_fmt(x1)}V{_fmt(y1)}" if item.step else f"L{_fmt(x1)} {_fmt(y1)}")
            parts.append(f'<path d="{"".join(path)}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
        for p in item.points:
            x = sx(_x_number(p.x))
            if p.low is not None and p.high is not None:
                y0, y1 = sy(p.low), sy(p.high)
                parts.append(
                    f'<path d="M{_fmt(x)} {_fmt(y0)}V{_fmt(y1)}M{_fmt(x - 5)} {_fmt(y0)}H{_fmt(x + 5)}'
                    f'M{_fmt(x - 5)} {_fmt(y1)}H{_fmt(x + 5)}" stroke="{colour}" stroke-width="1.5" fill="none"/>'
                )
            if item.markers or len(item.points) == 1:
                parts.append(f'<circle cx="{_fmt(x)}" cy="{_fmt(sy(p.y))}" r="4" fill="{colour}"/>')
            if p.label:
                parts.append(
                    f'<text x="{_fmt(x + 7)}" y="{_fmt(sy(p.y) - 7)}" fill="{colour}">{escape(p.label)}</text>'
                )
        if len(series) > 1:
            parts.append(
                f'<rect x="{legend_x}" y="{MARGIN_TOP - 4}" width="14" height="14" fill="{colour}"/>'
                f'<text x="{legend_x + 20}" y="{MARGIN_TOP + 8}" fill="#1b1f24">{escape(item.name)}</text>'
            )
            legend_x += 40 + 9 * len(item.name)
    parts.append("</svg>")
    cell = table_format or y_format or _exact
    rows = []
    x_cell = (lambda x: x.strftime("%Y-%m-%d %H:%M:%S UTC")) if is_time else (lambda x: f"{x:g}")
    for item in series:
        for p in item.points:
            interval = f"{cell(p.low)} to {cell(p.high)}" if p.low is not None and p.high is not None else ""
            name = f"{item.name} {p.label}".strip()
            rows.append((name, x_cell(p.x.astimezone(UTC) if is_time else p.x), cell(p.y), interval))
    if not any(r[3] for r in rows):
        headers, rows = headers[:3], [r[:3] for r in rows]
    if limit is not None:
        rows.append((limit.label, "", cell(limit.value), "")[: len(headers)])
    return Chart(svg=mark_safe("".join(parts)), table=_table(headers, rows), caption=caption or description)


def interval_chart(
    *,
    title: str,
    description: str,
    rows: Sequence[IntervalRow],
    x_title: str,
    x_format: Formatter | None = None,
    caption: str = "",
    empty: str = "No estimates yet.",
    interval_title: str = "Interval",
    label_title: str = "Item",
    table_format: Formatter | None = None,
) -> Chart:
    """One horizontal bar per row from 0 to its value, with a whisker from `low` to `high`, a zero line and
    a labelled value axis: estimated gains with their uncertainty."""
    headers = [label_title, x_title, interval_title]
    if not rows:
        return _empty(title, description, empty, headers)
    values = [0.0] + [v for r in rows for v in (r.value, r.low, r.high)]
    ticks = nice_ticks(min(values), max(values))
    label = x_format or number_format(ticks)
    band = 34
    label_width = 200
    height = MARGIN_TOP + band * len(rows) + MARGIN_BOTTOM
    left, right, top, bottom = label_width, WIDTH - MARGIN_RIGHT, MARGIN_TOP, MARGIN_TOP + band * len(rows)
    sx = _Scale(ticks[0], ticks[-1], left, right)
    ident = _ident(title)
    parts = [_svg_open(title, description, ident, height=height)]
    for tick in ticks:
        x = sx(tick)
        parts.append(
            f'<line x1="{_fmt(x)}" x2="{_fmt(x)}" y1="{top}" y2="{bottom}" stroke="#d0d7de"/>'
            f'<text x="{_fmt(x)}" y="{bottom + 20}" text-anchor="middle" fill="#1b1f24">{escape(label(tick))}</text>'
        )
    zero = sx(0.0)
    parts.append(f'<line x1="{_fmt(zero)}" x2="{_fmt(zero)}" y1="{top}" y2="{bottom}" stroke="#1b1f24"/>')
    for number, row in enumerate(rows):
        middle = top + band * number + band / 2
        x0, x1 = sorted((zero, sx(row.value)))
        parts.append(
            f'<text x="{left - 8}" y="{_fmt(middle + 5)}" text-anchor="end" fill="#1b1f24">'
            f"{escape(_shorten(row.label, 24))}</text>"
            f'<rect x="{_fmt(x0)}" y="{_fmt(middle - 9)}" width="{_fmt(max(x1 - x0, 1))}" height="18" '
            f'fill="{PALETTE[0]}" fill-opacity="0.55"/>'
            f'<path d="M{_fmt(sx(row.low))} {_fmt(middle)}H{_fmt(sx(row.high))}M{_fmt(sx(row.low))} '
            f'{_fmt(middle - 7)}V{_fmt(middle + 7)}M{_fmt(sx(row.high))} {_fmt(middle - 7)}V{_fmt(middle + 7)}" '
            f'stroke="#1b1f24" stroke-width="2" fill="none"/>'
            f'<circle cx="{_fmt(sx(row.value))}" cy="{_fmt(middle)}" r="4" fill="#1b1f24"/>'
        )
    parts.append(
        f'<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="#1b1f24"/>'
        f'<text x="{_fmt((left + right) / 2)}" y="{height - 12}" text-anchor="middle" fill="#1b1f24">'
        f"{escape(x_title)}</text></svg>"
    )
    cell = table_format or x_format or _exact
    table_rows = [(r.label, cell(r.value), f"{cell(r.low)} to {cell(r.high)}") for r in rows]
    return Chart(svg=mark_safe("".join(parts)), table=_table(headers, table_rows), caption=caption or description)


def _padded(low: float, high: float, share: float = 0.04) -> tuple[float, float]:
    """Widen a range a little so that marks and whisker caps do not sit on the axis, never across zero."""
    pad = (high - low) * share
    padded_low = low - pad if low - pad >= 0 or low < 0 else 0.0
    padded_high = high + pad if high + pad <= 0 or high > 0 else 0.0
    return padded_low, padded_high


def _exact(value: float) -> str:
    """Table cells carry the value to six significant digits, not the axis labels' rounding."""
    return f"{value:.6g}"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _axes(left, right, top, bottom, sx, sy, x_ticks, x_labels, y_ticks, y_labels) -> str:
    parts = []
    for tick, text in zip(y_ticks, y_labels, strict=True):
        y = sy(tick)
        parts.append(
            f'<line x1="{left}" x2="{right}" y1="{_fmt(y)}" y2="{_fmt(y)}" stroke="#d0d7de"/>'
            f'<text x="{left - 8}" y="{_fmt(y + 5)}" text-anchor="end" fill="#1b1f24">{escape(text)}</text>'
        )
    # At most about 6 x labels fit a 720-unit axis: thin them, keeping the first.
    every = max(1, math.ceil(len(x_ticks) / 6))
    for number, (tick, text) in enumerate(zip(x_ticks, x_labels, strict=True)):
        x = sx(tick)
        parts.append(f'<line x1="{_fmt(x)}" x2="{_fmt(x)}" y1="{bottom}" y2="{bottom + 6}" stroke="#1b1f24"/>')
        if number % every == 0:
            parts.append(
                f'<text x="{_fmt(x)}" y="{bottom + 24}" text-anchor="middle" fill="#1b1f24">{escape(text)}</text>'
            )
    parts.append(f'<path d="M{left} {top}V{bottom}H{right}" fill="none" stroke="#1b1f24" stroke-width="1.5"/>')
    return "".join(parts)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> SafeString:
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(cell)}</td>" if i == 0 else f'<td class="num">{escape(cell)}</td>'
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return mark_safe(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
