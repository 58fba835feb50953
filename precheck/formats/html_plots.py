"""The --html page's plots: a report's figures drawn by matplotlib as inline SVG (the html extra).

Draws what the report holds (headroom, block drift, storage recall, per-text cosines when present);
computes no figure. matplotlib is imported inside the functions: `precheck --help` never loads it.
"""
from __future__ import annotations

import importlib.util
import io
import re

from ..errors import PrecheckError, install_hint

FLOAT16_MAX = 65504.0
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f")
_PARTS_SHOWN_FROM = 0.01  # of float16's range: a layer's parts are drawn only near the edge, as the terminal does


def check_plotting_available(option: str) -> None:
    """One line and exit 2 (PrecheckError) before any work when the page cannot be drawn here."""
    try:
        found = importlib.util.find_spec("matplotlib") is not None
    except (ImportError, ValueError):  # a name set to None in sys.modules reads as absent, as for import
        found = False
    if not found:
        raise PrecheckError(f"{option} needs matplotlib, which is not installed", install_hint("html"))


def _svg(figure, name: str) -> str:
    """The figure as an <svg> element to inline: no XML prolog, no DOCTYPE (a URL), no metadata; text
    stays text (no font is embedded or fetched); ids salted by `name` so two plots on a page never share one."""
    import matplotlib

    stream = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": f"precheck-{name}"}):
        figure.savefig(stream, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = stream.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    return text.replace("<svg ", f'<svg role="img" aria-label="{name}" class="plot-{name}" ', 1)


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def headroom_bars(headroom: list) -> list[tuple[str, float, str]]:
    """The headroom plot's bars, (label, value, colour) in block order: each block's largest |activation|
    anywhere inside it (report.headroom's max_abs), labelled with the module that reached it when that
    is not the block's own output; layer parts only near the edge, as the terminal draws them."""
    import math

    shown = [h for h in headroom if h.max_abs is not None and (h.kind != "part" or h.fp16_fraction >= _PARTS_SHOWN_FROM)]
    bars = []
    for h in shown:
        if h.max_abs <= 0:
            continue
        value = FLOAT16_MAX * 3 if math.isinf(h.max_abs) else h.max_abs  # inf in float32: drawn past the edge
        where = f", at {h.max_at.removeprefix(h.module + '.')}" if h.max_at and h.max_at != h.module else ""
        colour = "#d62728" if value >= FLOAT16_MAX else "#ff7f0e" if value >= 0.1 * FLOAT16_MAX else "#2ca02c"
        bars.append((f"{h.module} ({h.cls}{where})", value, colour))
    return bars


def headroom_plot(headroom: list) -> str | None:
    """Each block's largest |activation| in the float32 encode against float16's 65504 (log scale)."""
    figure = headroom_figure(headroom)
    return None if figure is None else _svg(figure, "headroom")


def headroom_figure(headroom: list):
    """The headroom plot's Figure (None when nothing is shown). The line's label is a tick of the top
    axis: the layout makes room for it, so it is never cut by the figure's edge or drawn over a bar."""
    bars = headroom_bars(headroom)
    if not bars:
        return None
    from matplotlib.ticker import NullLocator

    figure = _figure(7.5, 0.9 + 0.28 * len(bars))
    axes = figure.add_subplot()
    axes.barh(range(len(bars)), [value for _, value, _ in bars], color=[colour for _, _, colour in bars])
    axes.set_yticks(range(len(bars)), [label for label, _, _ in bars], fontsize=8)
    axes.invert_yaxis()
    axes.set_xscale("log")
    axes.axvline(FLOAT16_MAX, color="#d62728", linestyle="--", linewidth=1)
    axes.set_xlim(min(value for _, value, _ in bars) / 3, max(FLOAT16_MAX, *(value for _, value, _ in bars)) * 3)
    top = axes.secondary_xaxis("top")
    top.set_xticks([FLOAT16_MAX], ["float16 max 65504"], fontsize=8, color="#d62728")
    top.tick_params(axis="x", colors="#d62728", which="both")
    top.xaxis.set_minor_locator(NullLocator())
    axes.set_xlabel("largest |activation| anywhere in the block, float32 encode (log scale)")
    return figure


def _series(rows: list, key) -> dict[str, list]:
    grouped: dict[str, list] = {}
    for row in rows:
        grouped.setdefault(key(row), []).append(row)
    return grouped


def drift_plot(drift: list) -> str | None:
    """Per dtype: the relative error at each block's output, and what each block adds to it."""
    if not drift:
        return None
    blocks = list(dict.fromkeys(d.module for d in drift))
    by_run = _series(drift, lambda d: d.dtype if d.strategy in ("", "load") else f"{d.dtype} ({d.strategy})")
    figure = _figure(9.0, 1.2 + 0.3 * len(blocks))
    at_output, added = figure.subplots(1, 2, sharey=True)
    height = 0.8 / len(by_run)
    for index, (run, rows) in enumerate(by_run.items()):
        colour = _COLOURS[index % len(_COLOURS)]
        where = {d.module: blocks.index(d.module) for d in rows}
        at_output.plot([d.relative_error for d in rows], [where[d.module] for d in rows], marker="o",
                       color=colour, label=run)
        added.barh([where[d.module] - 0.4 + height * (index + 0.5) for d in rows], [d.added for d in rows],
                   height=height, color=colour, label=run)
    at_output.set_yticks(range(len(blocks)), blocks, fontsize=8)
    at_output.invert_yaxis()
    at_output.set_xlabel("relative error at the block's output")
    added.set_xlabel("error this block adds")
    at_output.legend(fontsize=8)
    for axes in (at_output, added):
        axes.grid(axis="x", alpha=0.3)
    return _svg(figure, "drift")


def storage_plot(storage) -> str | None:
    """The gated recall against bytes per vector, one line per model dtype, the --min-recall floor dashed."""
    from ..engine.verdict import storage_gated_figure

    if storage is None or not storage.results:
        return None
    figure = _figure(7.0, 4.0)
    axes = figure.add_subplot()
    for index, (dtype, rows) in enumerate(_series(storage.results, lambda r: r.model_dtype).items()):
        rows = sorted(rows, key=lambda r: r.bytes_per_vector)
        colour = _COLOURS[index % len(_COLOURS)]
        axes.plot([r.bytes_per_vector for r in rows], [storage_gated_figure(r) for r in rows], marker="o",
                  color=colour, label=f"model in {dtype}")
        for row in rows:
            axes.annotate(row.precision, (row.bytes_per_vector, storage_gated_figure(row)), fontsize=8,
                          textcoords="offset points", xytext=(4, 4))
    axes.axhline(storage.min_recall, color="#d62728", linestyle="--", linewidth=1, label="--min-recall")
    axes.set_xscale("log", base=2)
    axes.set_ylim(0, 1.05)
    axes.set_xlabel("bytes per vector (log scale)")
    axes.set_ylabel(f"recall@{storage.k} (rescored where the index rescores)")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="lower right")
    return _svg(figure, "storage")


def evaluation_plot(check) -> str | None:
    """--eval: each precision's difference from float32 on the metric with its bootstrap interval, the
    gate's -max_metric_drop dashed."""
    from ..data.evaluation import LABELS

    rows = [r for r in (check.results if check is not None else []) if r.dtype != "float32" and r.difference is not None]
    if not rows:
        return None
    figure = _figure(7.0, 0.9 + 0.45 * len(rows))
    axes = figure.add_subplot()
    for index, row in enumerate(rows):
        low, high = row.interval if row.interval is not None else (row.difference, row.difference)
        colour = _COLOURS[0] if row.passed else "#d62728"
        # A percentile interval need not hold the point difference: its bars never go below zero length.
        axes.errorbar([row.difference], [index], xerr=[[max(row.difference - low, 0.0)],
                                                       [max(high - row.difference, 0.0)]], fmt="o",
                      color=colour, capsize=4)
    axes.axvline(0, color="#555", linewidth=1)
    axes.axvline(-check.max_metric_drop, color="#d62728", linestyle="--", linewidth=1, label="-max_metric_drop")
    axes.set_yticks(range(len(rows)), [r.dtype for r in rows])
    axes.invert_yaxis()
    axes.set_xlabel(f"{LABELS.get(check.metric, check.metric)} difference from float32 "
                    f"({check.confidence:.0%} paired bootstrap interval)")
    axes.grid(alpha=0.3, axis="x")
    axes.legend(fontsize=8, loc="lower left")
    return _svg(figure, "evaluation")


def cosine_histogram(histograms: dict[str, dict]) -> str | None:
    """Per dtype, how far each probe item moved from float32 (1 - cosine, or the score difference), from
    the report's fixed half-decade bins (engine/moved.py); None when no run carries one."""
    histograms = {dtype: h for dtype, h in histograms.items() if sum(h.get("counts", [])) > 0}
    if not histograms:
        return None
    figure = _figure(7.0, 3.5)
    axes = figure.add_subplot()
    width = 0.8 / len(histograms)
    for index, (dtype, h) in enumerate(histograms.items()):
        positions = [i + index * width for i in range(len(h["counts"]))]
        axes.bar(positions, h["counts"], width=width, color=_COLOURS[index % len(_COLOURS)],
                 label=f"{dtype} ({sum(h['counts'])} items)")
    edges = next(iter(histograms.values()))["edges"]
    axes.set_xticks(range(len(edges)), ["0" if e == 0 else f"{e:.0e}" for e in edges], rotation=60, fontsize=7)
    figure_name = next(iter(histograms.values())).get("figure", "cosine")
    axes.set_xlabel("distance from float32: " + ("|score difference|" if figure_name == "score_diff" else
                                                  "1 - cosine") + " (bin starts)")
    axes.set_ylabel("items")
    axes.legend(fontsize=8)
    return _svg(figure, "cosines")
