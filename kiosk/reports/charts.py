"""Reports as pictures a manager would rather look at than read: lines over days and hours, bars for categories, a
2×4 grid for the RFM segments. matplotlib draws off screen (the Agg canvas, no pyplot, no display), with the same
CJK font as the kiosk's screens so Chinese labels are not boxes."""
from __future__ import annotations

import io
from functools import lru_cache
from typing import Any

from kiosk.fonts import find_cjk_font
from kiosk.reports.model import FEN, MINUTES, Column, Report, ReportError

SIZE = (9.6, 5.4)  # inches at DPI: 960×540, a kiosk screen's worth
DPI = 100
COLOURS = ("#2e7d32", "#f9a825", "#1565c0", "#c62828")
MAX_LABEL = 12  # characters of a category label under a bar


@lru_cache(maxsize=1)
def font_name() -> str:
    """The family name of the kiosk's CJK font, registered with matplotlib once per process."""
    from matplotlib import font_manager

    path = str(find_cjk_font())
    font_manager.fontManager.addfont(path)
    return font_manager.FontProperties(fname=path).get_name()


def _scaled(column: Column, values: list[Any]) -> tuple[list[float], str]:
    """Values as plotted: money in yuan, durations in hours; and the axis label."""
    if column.unit == FEN:
        return [v / 100 for v in values], f"{column.label} (¥)"
    if column.unit == MINUTES:
        return [v / 60 for v in values], f"{column.label} (h)"
    return [float(v or 0) for v in values], column.label


def _label(value: Any) -> str:
    text = str(value)
    return text if len(text) <= MAX_LABEL else text[:MAX_LABEL - 1] + "…"


def _line(ax: Any, report: Report) -> None:
    spec = report.chart
    xs = report.values(spec.x)
    for n, key in enumerate(spec.ys):
        ys, label = _scaled(report.columns[report.column(key)], report.values(key))
        ax.plot(xs, ys, marker="o", markersize=3, color=COLOURS[n % len(COLOURS)], label=label)
    ax.set_xlabel(report.columns[report.column(spec.x)].label)
    ax.set_ylabel(label if len(spec.ys) == 1 else "")
    ax.grid(alpha=0.3)
    if xs and hasattr(xs[0], "isoformat"):  # dates: slanted, so a month of them fits
        ax.figure.autofmt_xdate()


def _bars(ax: Any, report: Report) -> None:
    spec = report.chart
    names = [_label(x) for x in report.values(spec.x)]
    width = 0.8 / len(spec.ys)
    for n, key in enumerate(spec.ys):
        ys, label = _scaled(report.columns[report.column(key)], report.values(key))
        ax.bar([i + (n - (len(spec.ys) - 1) / 2) * width for i in range(len(names))], ys, width,
               color=COLOURS[n % len(COLOURS)], label=label)
    slant = len(names) > 6
    ax.set_xticks(range(len(names)), names, rotation=30 if slant else 0, ha="right" if slant else "center")
    ax.set_ylabel(label if len(spec.ys) == 1 else "")
    ax.grid(axis="y", alpha=0.3)


def _grid(ax: Any, report: Report) -> None:
    """Eight tiles, two rows (important, general) by four (value, develop, keep, win back), shaded by members."""
    spec = report.chart
    names, counts = report.values(spec.x), report.values(spec.ys[0])
    english = report.values(f"{spec.x}_en") if f"{spec.x}_en" in [c.key for c in report.columns] else [""] * len(names)
    top = max(counts) if counts and max(counts) > 0 else 1
    for i, (name, en, n) in enumerate(zip(names, english, counts)):
        row, col = divmod(i, 4)
        shade = 0.15 + 0.75 * n / top
        ax.add_patch(_rectangle((col, 1 - row), shade))
        ax.text(col + 0.5, 1 - row + 0.66, name, ha="center", va="center", fontsize=12)
        ax.text(col + 0.5, 1 - row + 0.52, en, ha="center", va="center", fontsize=8)
        ax.text(col + 0.5, 1 - row + 0.32, str(n), ha="center", va="center", fontsize=20)
    ax.set_xlim(0, 4)
    ax.set_ylim(0, 2)
    ax.set_axis_off()


def _rectangle(xy: tuple[int, int], shade: float) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle(xy, 0.96, 0.94, color=COLOURS[0], alpha=shade)


DRAW = {"line": _line, "bar": _bars, "grid": _grid}


def render(report: Report) -> bytes:
    """The report's chart as PNG bytes; a report without a chart is an error the caller should not make."""
    if report.chart is None or report.chart.kind not in DRAW:
        raise ReportError(f"the {report.name} report has no chart")
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"font.family": [font_name(), "DejaVu Sans"], "axes.unicode_minus": False}):
        fig = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        DRAW[report.chart.kind](ax, report)
        ax.set_title(f"{report.title}" + (f"  {report.period}" if report.period else ""))
        if len(report.chart.ys) > 1:
            ax.legend()
        out = io.BytesIO()
        fig.savefig(out, format="png")
    return out.getvalue()
