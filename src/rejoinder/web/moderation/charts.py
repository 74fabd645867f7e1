"""Small server-rendered SVG charts for the dashboard: no JavaScript, every text escaped.

Each chart is an `<svg role="img">` with a title; the page puts the same numbers in a table
for screen readers, so the SVG itself is decorative detail plus per-bar `<title>` tooltips.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

PALETTE = {"bar": "#2f6fb3", "approved": "#2e8540", "rejected": "#c0392b", "publish": "#2e8540",
           "hold": "#d68910", "reject": "#c0392b", "unknown": "#7f8c8d"}
FONT = 'font-family="system-ui, sans-serif" font-size="11" fill="#444"'


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def bar_chart(points: Sequence[tuple[str, float]], *, title: str, width: int = 640,
              height: int = 180, label_every: int = 1) -> Markup:
    """Vertical bars, one per point (e.g. comments per day), with the maximum marked."""
    left, bottom, top = 36, 22, 10
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = max((v for _, v in points), default=0) or 1
    step = plot_w / max(len(points), 1)
    parts = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 8}" y2="{top + plot_h}" stroke="#999"/>',
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" {FONT}>{_num(peak)}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" {FONT}>0</text>',
    ]
    for i, (name, value) in enumerate(points):
        h = plot_h * value / peak
        x = left + i * step + step * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{step * 0.7:.1f}" '
            f'height="{h:.1f}" fill="{PALETTE["bar"]}"><title>{escape(name)}: {_num(value)}'
            f'</title></rect>')
        if i % label_every == 0:
            parts.append(f'<text x="{x + step * 0.35:.1f}" y="{height - 6}" text-anchor="middle" '
                         f'{FONT}>{escape(name)}</text>')
    return _svg(title, width, height, parts)


def stacked_bars(rows: Sequence[tuple[str, dict[str, float]]], series: Sequence[str], *,
                 title: str, width: int = 640, row_h: int = 26) -> Markup:
    """Horizontal stacked bars, one row per name (e.g. a label), segments per series."""
    left, legend_h = 110, 22
    plot_w = width - left - 50
    height = legend_h + row_h * max(len(rows), 1) + 4
    peak = max((sum(v.values()) for _, v in rows), default=0) or 1
    parts = []
    x = left
    for s in series:
        parts.append(f'<rect x="{x}" y="4" width="10" height="10" fill="{PALETTE.get(s, "#555")}"/>'
                     f'<text x="{x + 14}" y="13" {FONT}>{escape(s)}</text>')
        x += 14 + 8 * len(s) + 16
    for i, (name, values) in enumerate(rows):
        y = legend_h + i * row_h
        parts.append(f'<text x="{left - 6}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end" '
                     f'{FONT}>{escape(name)}</text>')
        x0 = float(left)
        for s in series:
            w = plot_w * values.get(s, 0) / peak
            if w > 0:
                parts.append(
                    f'<rect x="{x0:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" '
                    f'fill="{PALETTE.get(s, "#555")}"><title>{escape(name)}, {escape(s)}: '
                    f'{_num(values.get(s, 0))}</title></rect>')
            x0 += w
        parts.append(f'<text x="{x0 + 4:.1f}" y="{y + row_h / 2 + 4:.1f}" {FONT}>'
                     f'{_num(sum(values.values()))}</text>')
    return _svg(title, width, height, parts)


def _svg(title: str, width: int, height: int, parts: list[str]) -> Markup:
    body = "".join(parts)
    return Markup(  # noqa: S704  # every interpolated text above is escaped
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
        f"<title>{escape(title)}</title>{body}</svg>")
