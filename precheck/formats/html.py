"""The --html page: a scan, or a CI run with every model, as one self-contained HTML file.

Reads the report, computes nothing: the verdict, the tables and formats/html_plots.py's inline SVG plots.
Nothing is fetched at view time: no script, no external style or font, and a Content-Security-Policy saying so.
"""
from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from ..engine.verdict import overview_cases
from ..kinds import kind_for
from ..words import passing
from .interface import Format

if TYPE_CHECKING:
    from ..data.ci import CiRun
    from ..data.report import Report

# Everything the page needs is in it: a browser that honours this fetches nothing, even by mistake.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:75rem;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#1a7f37;font-weight:bold}.fail{color:#cf222e;font-weight:bold}
pre{background:#f6f8fa;padding:.5rem;overflow-x:auto}figure{margin:1rem 0}figure svg{max-width:100%;height:auto}
figcaption{font-size:.9rem;color:#555}section.model{border-top:2px solid #ccc;margin-top:2rem}
.note{color:#555;font-size:.9rem}
"""
_MARK = {True: ("PASS", "pass"), False: ("FAIL", "fail")}


def _mark(passed: bool) -> str:
    text, css = _MARK[passed]
    return f'<span class="{css}">{text}</span>'


def _table(headers: list[str], rows: list[list[str]], numeric: tuple[int, ...] = ()) -> str:
    """Cells are escaped here, except those already marked up (a _mark)."""
    def cell(index: int, value) -> str:
        text = value if isinstance(value, _Markup) else escape("-" if value in (None, "") else str(value))
        return f'<td class="num">{text}</td>' if index in numeric else f"<td>{text}</td>"

    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(cell(i, v) for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class _Markup(str):
    """A table cell that is HTML already."""


def _number(value: float | None, digits: int = 6) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _plot(svg: str | None, caption: str, name: str) -> str:
    if svg is None:
        return ""
    return f'<figure class="plot" id="plot-{name}">{svg}<figcaption>{escape(caption)}</figcaption></figure>'


def per_text_cosines(report: "Report") -> dict[str, dict]:
    """Per dtype, the histogram of every probe item's distance from float32 (1 - cosine, or the score
    difference) that each load run carries (engine/moved.py); empty when none does."""
    found = {}
    for result in report.results:
        figures = getattr(result, "per_item", None)
        if result.strategy == "load" and figures is not None and figures.histogram.get("counts"):
            found[result.dtype] = {**figures.histogram, "figure": figures.figure}
    return found


def _verdict(report: "Report") -> str:
    lines = "".join(f"<li>{_mark(v.passed)} <b>{escape(v.dtype)}</b>: {escape(v.summary)}</li>"
                    for v in report.verdict.dtypes)
    failures = "".join(f"<li>{escape(line)}</li>" for line in report.verdict.failures)
    failing = f"<p>Failing gates:</p><ul>{failures}</ul>" if failures else ""
    return f'<section id="verdict"><h3>Verdict: {_mark(report.verdict.passed)}</h3><ul>{lines}</ul>{failing}</section>'


def _results(report: "Report") -> str:
    kind = kind_for(report.model.kind)
    rows = [[r.dtype, r.strategy, r.status, kind.headline(r) if kind.headline_value(r) is not None else "-",
             r.nonfinite, _number(r.seconds, 2), f"{r.error.type}: {r.error.message}" if r.error else ""]
            for r in report.results]
    return ('<section id="results"><h3>Runs against float32</h3>'
            + _table(["dtype", "loaded by", "status", "figure", "non-finite", "seconds", "error"], rows, (4, 5))
            + "</section>")


def _diagnoses(report: "Report") -> str:
    if not report.diagnoses:
        return ""
    rows = [[d.dtype, d.strategy, d.cause, d.module or "-", d.detail] for d in report.diagnoses]
    return ('<section id="diagnoses"><h3>Diagnosis</h3>'
            + _table(["dtype", "loaded by", "cause", "module", "detail"], rows) + "</section>")


def _fixes(report: "Report") -> str:
    if not report.fixes:
        return ""
    rows = [[f.dtype, f.strategy, _Markup(_mark(f.verified)) if f.status not in ("not-tried", "no-plan") else f.status,
             _number(f.min_cosine), "yes" if f.recommended else "", ", ".join(f.keep_fp32)] for f in report.fixes]
    snippets = "".join(f"<p>{escape(f.dtype)}, recommended fix ({escape(f.strategy)}):</p>"
                       f"<pre><code>{escape(f.snippet)}</code></pre>" for f in report.fixes if f.recommended)
    return ('<section id="fixes"><h3>Fixes (each verified by re-running the probe set)</h3>'
            + _table(["dtype", "fix", "verified", "min cosine", "recommended", "kept in float32"], rows, (3,))
            + snippets + "</section>")


def _blocks(report: "Report") -> str:
    from .html_plots import cosine_histogram, drift_plot, headroom_plot

    parts = [
        _plot(headroom_plot(report.headroom), "Headroom: each block's largest |activation| anywhere inside it (its own output or any "
              "module's within it, named after the comma) in the float32 encode; past the dashed line float16 "
              "overflows (bfloat16's range is float32's).", "headroom"),
        _plot(drift_plot(report.drift), "Drift, measured block by block for each dtype that drifted: the relative "
              "error at each block's output against float32, and what each block adds to it.", "drift"),
        _plot(cosine_histogram(per_text_cosines(report)), "Per-text cosines with float32's embedding, per dtype.",
              "cosines"),
    ]
    shown = "".join(parts)
    return f'<section id="blocks"><h3>Where precision goes</h3>{shown}</section>' if shown else ""


def _storage(report: "Report") -> str:
    from ..engine.verdict import storage_figure_label, storage_gated_figure
    from .html_plots import storage_plot

    storage = report.storage
    if storage is None:
        return ""
    rows = [[r.model_dtype, r.precision, r.bytes_per_vector, _number(r.recall_at_1, 3), _number(r.recall_at_10, 3),
             _number(r.recall_at_10_rescored, 3), _number(r.spearman, 4),
             _Markup(f"{_mark(r.passed)} {escape(storage_figure_label(storage, r))} "
                     f"{storage_gated_figure(r):.3f}")] for r in storage.results]
    table = _table(["model dtype", "stored as", "bytes/vector", "recall@1", "recall@10", "recall@10 rescored",
                    "Spearman", "gate"], rows, (2, 3, 4, 5, 6))
    plot = _plot(storage_plot(storage), f"Recall against bytes per vector; the dashed line is --min-recall "
                 f"{storage.min_recall}.", "storage")
    return (f'<section id="storage"><h3>Storage: recall of float32\'s {storage.k} nearest neighbours among '
            f"{storage.corpus} vectors</h3>{table}{plot}</section>")


def _evaluation(report: "Report") -> str:
    from ..data.evaluation import LABELS
    from .html_plots import evaluation_plot

    check = report.evaluation
    if check is None:
        return ""
    rows = [[r.dtype, _number(r.metric, 4), _number(r.difference, 4),
             "-" if r.interval is None else f"{r.interval[0]:+.4f} to {r.interval[1]:+.4f}",
             "-" if r.dtype == "float32" else f"{r.changed} ({r.worse})", _Markup(_mark(r.passed))]
            for r in check.results]
    label = LABELS.get(check.metric, check.metric)
    table = _table(["precision", label, "difference", "interval", "changed (worse)", "gate"], rows, (1, 2))
    plot = _plot(evaluation_plot(check), f"The difference from float32 with its {check.confidence:.0%} paired "
                 f"bootstrap interval ({check.resamples} resamples, seed {check.seed}); the dashed line is "
                 f"--max-metric-drop {check.max_metric_drop:g}.", "evaluation")
    return (f'<section id="evaluation"><h3>Your metric: {escape(label)} on {check.items} '
            f"{'queries' if check.layout == 'beir' else 'pairs'} ({escape(check.source)})</h3>{table}{plot}</section>")


def _item(text: str, document: str | None = None) -> str:
    return text if document is None else f"{text} / {document}"


def _moved(report: "Report") -> str:
    """Per dtype, the worst items and the neighbour changes the report holds (engine/moved.py bounds them)."""
    kind, parts = kind_for(report.model.kind), []
    for dtype in report.settings.dtypes:
        run = next((r for r in report.results if r.dtype == dtype and r.per_item is not None and not r.same_as), None)
        if run is None:
            continue
        figures = run.per_item
        cosine = figures.figure == "cosine"
        spread = ", ".join(f"{k} {v:.6g}" for k, v in figures.percentiles.items())
        rows = [[_number(w.cosine if cosine else w.score_diff), f"#{w.item}",
                 "-" if w.tokens is None else f"{w.tokens:,}" + (" (cut)" if w.truncated else ""),
                 _item(w.text, w.document)] for w in figures.worst]
        parts.append(f"<h4>{escape(dtype)} ({escape(run.strategy)}): worst {escape(kind.items_label)} by "
                     f"{'cosine' if cosine else '|score diff|'}</h4><p class=\"note\">{escape(spread)}</p>"
                     + _table(["cosine" if cosine else "|score diff|", "item", "tokens", "text"], rows, (0, 2)))
        if figures.neighbour_changes_total:
            label = "Nearest neighbour" if cosine else "Top passage"
            held = len(figures.neighbour_changes)
            rows = [[f"#{c.item}", c.text, f"#{c.now}", c.now_text, f"#{c.float32}", c.float32_text]
                    for c in figures.neighbour_changes]
            parts.append(f"<p>{label} changed for {figures.neighbour_changes_total} of {figures.compared}"
                         + (f" ({held} kept in the report)" if held < figures.neighbour_changes_total else "")
                         + "</p>" + _table(["item", "text", "now", "its text", "float32's", "its text"], rows))
    return f'<section id="moved"><h3>What moved</h3>{"".join(parts)}</section>' if parts else ""


def _memory(report: "Report") -> str:
    from ..loading.memory_plan import gib

    plan = report.memory
    if plan is None:
        return ""
    label = {"reference": "float32 reference", "load": "{} (load)", "cast": "{} (cast)"}
    rows = [[label[r.run].format(r.dtype), gib(r.bytes) + (" (peak)" if r.run == "cast" else ""),
             r.placement + (f": {r.detail}" if r.detail else "")] for r in plan.runs]
    count = f"{plan.parameters:,} parameters" if plan.parameters is not None else "parameters unknown until loaded"
    budget = ", ".join(f"{name} {gib(size)}" for name, size in plan.budget.items())
    notes = "".join(f"<li>{escape(n)}</li>" for n in plan.notes)
    return (f'<section id="memory"><h3>Memory plan ({escape(plan.weights)}, {count})</h3>'
            + _table(["run", "parameter bytes", "goes to"], rows, (1,))
            + f'<p class="note">Free on {escape(plan.device)}: {escape(gib(plan.free_bytes))}; float32 reference '
              f"budget: {escape(budget)}</p>" + (f"<ul>{notes}</ul>" if notes else "") + "</section>")


def _modules(report: "Report") -> str:
    tables = []
    for run, rows in report.modules.items():
        body = [[m.path, m.cls, ", ".join(f"{d}: {n:,}" for d, n in m.param_dtypes.items()),
                 ", ".join(f"{d}: {n:,}" for d, n in m.buffer_dtypes.items()), f"{m.size_mb:.1f}",
                 "flagged" if m.flagged else ""] for m in rows]
        tables.append(f"<details><summary>Modules, {escape(run)}</summary>"
                      + _table(["module", "class", "param dtypes", "buffer dtypes", "MB", ""], body, (4,))
                      + "</details>")
    return f'<section id="modules"><h3>Modules</h3>{"".join(tables)}</section>' if tables else ""


def _notes(report: "Report") -> str:
    lines = [*report.notes, *(f"{a.server}: {a.flag or 'no flag'}: {a.note}" for a in report.serving)]
    if not lines:
        return ""
    return '<section id="notes"><h3>Notes</h3><ul>' + "".join(f"<li>{escape(n)}</li>" for n in lines) + "</ul></section>"


def report_body(report: "Report") -> str:
    """One model's part of a page: verdict, tables, plots."""
    m, env = report.model, report.environment
    about = (f'<p class="note">{escape(m.kind)}; {report.settings.probe_items} probe items; torch {escape(env.torch)}, '
             f"transformers {escape(env.transformers)}, sentence-transformers {escape(env.sentence_transformers)}, "
             f"device {escape(env.device)}</p>")
    return "".join([_verdict(report), _results(report), _moved(report), _diagnoses(report), _fixes(report),
                    _blocks(report), _storage(report), _evaluation(report), _notes(report), _memory(report),
                    _modules(report), about])


def _page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head>\n<body>{body}</body></html>\n")


def scan_page(report: "Report") -> str:
    title = f"precheck scan: {report.model.name}: {_MARK[report.verdict.passed][0]}"
    return _page(title, f"<h1>precheck scan: {escape(report.model.name)}</h1>{report_body(report)}")


def ci_page(run: "CiRun") -> str:
    failing = [r for r in run.runs if not r.passed]
    mark = {0: "PASS", 1: "FAIL", 2: "ERROR"}[run.exit_code]
    tally = passing(len(run.runs) - len(failing), len(run.runs))
    title = f"precheck ci ({run.config.path.name}): {mark}, {tally}"
    overview, sections = [], []
    for index, model_run in enumerate(run.runs):
        anchor = f"model-{index + 1}"
        name = _Markup(f'<a href="#{anchor}">{escape(model_run.config.name)}</a>')
        if model_run.report is None:
            overview.append([name, "-", "cannot run", model_run.error])
            sections.append(f'<section class="model" id="{anchor}"><h2>{escape(model_run.config.name)}</h2>'
                            f'<p class="fail">cannot run: {escape(model_run.error or "")}</p></section>')
            continue
        for gate in overview_cases(model_run.report, model_run.regressions):
            overview.append([name, gate.name, _Markup(_mark(gate.passed)), "; ".join(gate.regressions) or gate.message])
        sections.append(f'<section class="model" id="{anchor}"><h2>{escape(model_run.config.name)}</h2>'
                        f"{report_body(model_run.report)}</section>")
    css = "pass" if run.exit_code == 0 else "fail"
    head = (f'<h1>precheck ci ({escape(run.config.path.name)}): <span class="{css}">{mark}</span>, '
            f"{escape(tally)}</h1>")
    table = _table(["model", "dtype or gate", "gate", "verdict or regression"], overview)
    return _page(title, head + f'<section id="overview">{table}</section>' + "".join(sections))


class HtmlFormat(Format):
    name = "html"

    def format(self, result) -> str:
        """A CiRun as one page for all its models; a Report as the scan's page."""
        from ..data.ci import CiRun

        return ci_page(result) if isinstance(result, CiRun) else scan_page(result)


HTML = HtmlFormat()
