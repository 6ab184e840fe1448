"""Charts as PNG pictures (matplotlib, Agg: no display needed): a bar chart of values per label.

The wording (title, axis, watermark) comes from the caller (bot/views): here only the drawing. The
font is DejaVu Sans, which matplotlib ships and which has every Vietnamese letter. A chart is drawn
once per content: the same chart (same data, same wording) is served from a small cache, so a
picture changes exactly when the data it shows changes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class BarChart:
    title: str
    labels: tuple[str, ...]
    values: tuple[float, ...]
    colours: tuple[str, ...]
    axis: str  # what the values are ("điểm")
    watermark: str | None = None  # across the picture, e.g. "số liệu minh họa"
    legend: tuple[tuple[str, str], ...] = ()  # (colour, label)


def render_png(chart: BarChart) -> bytes:
    """The chart as PNG bytes (cached per content)."""
    return _render(chart)


@lru_cache(maxsize=128)
def _render(chart: BarChart) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    figure = Figure(figsize=(8, 4.5), dpi=100)
    figure.patch.set_facecolor("white")
    axes = figure.add_subplot()
    positions = list(range(len(chart.labels)))
    bars = axes.barh(positions, chart.values, color=chart.colours)
    axes.set_yticks(positions, chart.labels, fontfamily="DejaVu Sans")
    axes.invert_yaxis()  # the first label on top
    axes.set_xlabel(chart.axis, fontfamily="DejaVu Sans")
    axes.set_title(chart.title, fontfamily="DejaVu Sans", fontsize=12, fontweight="bold")
    low, high = min(chart.values, default=0.0), max(chart.values, default=1.0)
    spread = max(high - low, 1.0)
    axes.set_xlim(max(0.0, low - spread - 5), high + spread * 0.2 + 2)
    for bar, value in zip(bars, chart.values, strict=True):
        text = f"{value:.1f}".replace(".", ",")
        axes.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {text}", va="center", fontsize=9)
    axes.spines[["top", "right"]].set_visible(False)
    if chart.legend:
        handles = [Patch(color=colour, label=label) for colour, label in chart.legend]
        axes.legend(handles=handles, loc="lower right", prop={"family": "DejaVu Sans", "size": 8})
    if chart.watermark:
        figure.text(
            0.5,
            0.5,
            chart.watermark,
            fontsize=40,
            color="grey",
            alpha=0.25,
            ha="center",
            va="center",
            rotation=20,
            fontfamily="DejaVu Sans",
        )
    # Margins from the longest label instead of tight_layout, which draws the figure twice.
    longest = max((len(label) for label in chart.labels), default=4)
    figure.subplots_adjust(left=min(0.45, 0.04 + 0.0115 * longest), right=0.97, top=0.9, bottom=0.12)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", pil_kwargs={"compress_level": 3})
    return buffer.getvalue()
