"""Charts as PNG pictures (matplotlib, Agg: no display needed): bars of values per label, a line
across periods, values against their maxima; one panel or several side by side.

The wording (titles, axes, value labels, watermark) comes from the caller (bot/views): here only the
drawing. The font is DejaVu Sans, which matplotlib ships and which has every Vietnamese letter. A
chart is drawn once per content: the same chart (same data, same wording) is served from a small
cache, so a picture changes exactly when the data it shows changes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes

FONT = "DejaVu Sans"


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars, the first label on top. ``start`` None zooms on the values (a ranking where
    totals are close); 0 starts the axis at zero (counts, hours)."""

    title: str
    labels: tuple[str, ...]
    values: tuple[float, ...]
    colours: tuple[str, ...]
    axis: str  # what the values are ("điểm")
    watermark: str | None = None  # across the picture, e.g. "số liệu minh họa"
    legend: tuple[tuple[str, str], ...] = ()  # (colour, label)
    value_labels: tuple[str, ...] = ()  # written at the end of each bar; default the value, "92,5"
    start: float | None = None


@dataclass(frozen=True)
class LinePanel:
    """A value per ordered label (a unit's total per review period), each point written."""

    title: str
    labels: tuple[str, ...]
    values: tuple[float, ...]
    value_labels: tuple[str, ...]
    axis: str
    colour: str = "#1565c0"


@dataclass(frozen=True)
class ShareBars:
    """Each label's value against its maximum (a criterion's points out of its top mark): a pale bar
    for the maximum, a full one for the value."""

    title: str
    labels: tuple[str, ...]
    values: tuple[float, ...]
    maxima: tuple[float, ...]
    value_labels: tuple[str, ...]
    colour: str = "#2e7d32"


@dataclass(frozen=True)
class PanelChart:
    """Panels side by side under one title (and one watermark)."""

    title: str
    panels: tuple[LinePanel | ShareBars, ...]
    watermark: str | None = None


def render_png(chart: BarChart | PanelChart) -> bytes:
    """The chart as PNG bytes (cached per content)."""
    return _render(chart)


@lru_cache(maxsize=128)
def _render(chart: BarChart | PanelChart) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    if isinstance(chart, BarChart):
        rows = len(chart.labels)
        figure = Figure(figsize=(8, max(4.5, 1.4 + 0.32 * rows)), dpi=100)
        _bars(figure, figure.add_subplot(), chart)
        longest = max((len(label) for label in chart.labels), default=4)
        # Margins from the longest label instead of tight_layout, which draws the figure twice.
        bottom = 0.12 * 4.5 / figure.get_figheight()
        figure.subplots_adjust(left=min(0.45, 0.04 + 0.0115 * longest), right=0.97, top=1 - bottom * 0.8, bottom=bottom)
    else:
        figure = Figure(figsize=(5.5 * len(chart.panels), 5), dpi=100)
        figure.suptitle(chart.title, fontfamily=FONT, fontsize=13, fontweight="bold")
        for index, panel in enumerate(chart.panels, start=1):
            axes = figure.add_subplot(1, len(chart.panels), index)
            if isinstance(panel, LinePanel):
                _line(axes, panel)
            else:
                _shares(axes, panel)
        longest = max((len(label) for p in chart.panels if isinstance(p, ShareBars) for label in p.labels), default=4)
        figure.subplots_adjust(left=0.07, right=0.98, top=0.85, bottom=0.14, wspace=0.12 + 0.012 * longest)
    figure.patch.set_facecolor("white")
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
            fontfamily=FONT,
        )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", pil_kwargs={"compress_level": 3})
    return buffer.getvalue()


def _commas(axis: Any, bins: int = 6) -> None:
    """At most ``bins`` tick numbers (each drawn text costs), with a decimal comma (84,5) as every
    number the bot shows."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(nbins=bins))
    axis.set_major_formatter(FuncFormatter(lambda value, _position: f"{value:g}".replace(".", ",")))


def _written(values: tuple[float, ...], labels: tuple[str, ...]) -> list[str]:
    return list(labels) if labels else [f"{value:.1f}".replace(".", ",") for value in values]


def _bars(figure: Any, axes: Axes, chart: BarChart) -> None:
    from matplotlib.patches import Patch

    positions = list(range(len(chart.labels)))
    bars = axes.barh(positions, chart.values, color=chart.colours)
    axes.set_yticks(positions, chart.labels, fontfamily=FONT)
    axes.invert_yaxis()  # the first label on top
    axes.set_xlabel(chart.axis, fontfamily=FONT)
    _commas(axes.xaxis)
    axes.set_title(chart.title, fontfamily=FONT, fontsize=12, fontweight="bold")
    low, high = min(chart.values, default=0.0), max(chart.values, default=1.0)
    spread = max(high - low, 1.0)
    if chart.start is None:
        axes.set_xlim(max(0.0, low - spread - 5), high + spread * 0.2 + 2)
    else:
        axes.set_xlim(chart.start, high * 1.22 + 1)
    for bar, text in zip(bars, _written(chart.values, chart.value_labels), strict=True):
        axes.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {text}", va="center", fontsize=9)
    axes.spines[["top", "right"]].set_visible(False)
    if chart.legend:
        handles = [Patch(color=colour, label=label) for colour, label in chart.legend]
        axes.legend(handles=handles, loc="lower right", prop={"family": FONT, "size": 8})


def _line(axes: Axes, panel: LinePanel) -> None:
    positions = list(range(len(panel.labels)))
    axes.plot(positions, panel.values, color=panel.colour, marker="o", linewidth=2)
    for x, y, text in zip(positions, panel.values, panel.value_labels, strict=True):
        axes.annotate(text, (x, y), textcoords="offset points", xytext=(0, 8), ha="center", fontsize=9)
    axes.set_xticks(positions, panel.labels, fontfamily=FONT, fontsize=9)
    low, high = min(panel.values, default=0.0), max(panel.values, default=1.0)
    margin = max((high - low) * 0.25, 2.0)
    axes.set_ylim(low - margin, high + margin)
    axes.set_xlim(-0.5, max(len(positions) - 0.5, 0.5))
    axes.set_ylabel(panel.axis, fontfamily=FONT)
    _commas(axes.yaxis, bins=5)
    axes.set_title(panel.title, fontfamily=FONT, fontsize=11)
    axes.grid(axis="y", alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)


def _shares(axes: Axes, panel: ShareBars) -> None:
    positions = list(range(len(panel.labels)))
    axes.barh(positions, panel.maxima, color="#e0e0e0")
    bars = axes.barh(positions, panel.values, color=panel.colour, height=0.55)
    axes.set_yticks(positions, panel.labels, fontfamily=FONT, fontsize=9)
    axes.invert_yaxis()
    for bar, top, text in zip(bars, panel.maxima, panel.value_labels, strict=True):
        end = max(bar.get_width(), top)
        axes.text(end, bar.get_y() + bar.get_height() / 2, f" {text}", va="center", fontsize=8)
    axes.set_xlim(0, max(panel.maxima, default=1.0) * 1.3)
    axes.set_xticks([])  # every bar says its value and maximum: a scale would only repeat them
    axes.set_title(panel.title, fontfamily=FONT, fontsize=11)
    axes.spines[["top", "right", "bottom"]].set_visible(False)
