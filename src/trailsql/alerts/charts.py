"""Charts as inline SVG: no script and no network, so a report reads in a mail client."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

_BAR = "#3b6ea8"
_TEXT = "#333"


def bars(items: Sequence[tuple[str, float]], width: int = 640, row: int = 22, label_width: int = 300) -> str:
    """Horizontal bars, one per (label, value), longest first as given.

    >>> "<svg" in bars([("AccessDenied", 3), ("Throttling", 1)])
    True
    """
    if not items:
        return '<p class="empty">nothing in the window</p>'
    top = max(v for _, v in items) or 1
    span = width - label_width - 60
    height = row * len(items) + 4
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    for i, (label, value) in enumerate(items):
        y = i * row + 2
        length = max(1.0, span * value / top)
        shown = label if len(label) <= 48 else "…" + label[-47:]
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end" font-size="12" fill="{_TEXT}">'
            f"{escape(shown)}</text>"
            f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="{row - 6}" fill="{_BAR}">'
            f"<title>{escape(label)}: {value:,.0f}</title></rect>"
            f'<text x="{label_width + length + 4:.1f}" y="{y + 15}" font-size="12" fill="{_TEXT}">{value:,.0f}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def columns(items: Sequence[tuple[str, float]], width: int = 640, height: int = 160, color: str = _BAR) -> str:
    """Vertical columns over time, one per (label, value) in order; the first and last labels shown.

    >>> "<rect" in columns([("2025-02-12T00", 5), ("2025-02-12T01", 7)])
    True
    """
    if not items:
        return '<p class="empty">nothing in the window</p>'
    top = max(v for _, v in items) or 1
    plot = height - 30
    step = width / len(items)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    for i, (label, value) in enumerate(items):
        h = max(1.0, plot * value / top) if value else 0.0
        parts.append(
            f'<rect x="{i * step + 1:.1f}" y="{plot - h + 4:.1f}" width="{max(1.0, step - 2):.1f}" height="{h:.1f}" '
            f'fill="{color}"><title>{escape(label)}: {value:,.0f}</title></rect>'
        )
    parts.append(
        f'<text x="0" y="{height - 6}" font-size="11" fill="{_TEXT}">{escape(items[0][0])}</text>'
        f'<text x="{width}" y="{height - 6}" font-size="11" text-anchor="end" fill="{_TEXT}">{escape(items[-1][0])}</text>'
        f'<text x="{width}" y="12" font-size="11" text-anchor="end" fill="{_TEXT}">max {top:,.0f}</text></svg>'
    )
    return "".join(parts)
