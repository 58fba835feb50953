"""The job summary: a scan or a CI run as GitHub-flavoured Markdown (model x dtype, status, figure, fix).

Written to $GITHUB_STEP_SUMMARY on GitHub Actions and to --summary PATH; reads the report, computes nothing.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..engine.verdict import GateCase, overview_cases
from ..kinds import kind_for
from ..words import passing
from .interface import Format

if TYPE_CHECKING:
    from ..data.ci import CiRun
    from ..data.report import Report

_MARK = {True: "PASS", False: "FAIL"}


def _cell(text: object) -> str:
    """One table cell: pipes escaped and lines joined, so that a message cannot break the row."""
    return " ".join(str(text).split()).replace("|", "\\|") or "-"


def _code(text: str) -> str:
    return f"`{text}`" if "`" not in text else _cell(text)


def _figure(report: "Report", dtype: str) -> str:
    result, kind = report.result(dtype, "load"), kind_for(report.model.kind)
    if kind.headline_value(result) is None:
        return result.error.type if result.error else "-"
    return kind.headline(result)


def _fix(report: "Report", dtype: str, passed: bool) -> str:
    best = report.recommended_fix(dtype)
    if best is not None:
        figure = f", min cosine {best.min_cosine:.6f}" if best.min_cosine is not None else ""
        return f"{best.strategy} (verified{figure})"
    return "-" if passed else "none verified" if report.fixes else "not searched"


def _rows(report: "Report", regressions=()) -> list[tuple[GateCase, list[str]]]:
    """Per overview case (engine/verdict.py): its name, status, figure and fix; a gate beside the
    dtypes (a failing storage precision) has its message as its figure."""
    return [(c, [c.name, c.status, _figure(report, c.dtype), _fix(report, c.dtype, c.dtype_passed)] if c.is_dtype
             else [c.name, "fail", c.message, "-"]) for c in overview_cases(report, regressions)]


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _serving(report: "Report") -> list[str]:
    if not report.serving:
        return []
    flags = ", ".join(f"{a.server} `{a.flag}`" if a.flag else f"{a.server}: no flag" for a in report.serving)
    return ["", f"Serving: {flags} (the report's `serving` notes say why; docs/serving.md)."]


def _storage_rows(storage, first: list[str]) -> list[list[str]]:
    from ..render.storage import gated_figure

    return [[*first, r.model_dtype, r.precision, str(r.bytes_per_vector), f"{r.recall_at_1:.3f}",
             f"{r.recall_at_10:.3f}", "-" if r.recall_at_10_rescored is None else f"{r.recall_at_10_rescored:.3f}",
             f"{r.spearman:.4f}", f"{_MARK[r.passed]} ({gated_figure(r):.3f})"] for r in storage.results]


_STORAGE_HEADERS = ["model dtype", "stored as", "bytes/vector", "recall@1", "recall@10", "recall@10 rescored",
                    "Spearman", "gate"]


def _storage(storages: list, rows: list[list[str]], headers: list[str]) -> list[str]:
    floors = sorted({s.min_recall for s in storages})
    floor = str(floors[0]) if len(floors) == 1 else "each model's min_recall"
    return ["", f"Storage (recall of float32's {storages[0].k} nearest neighbours; gate: recall@10, rescored where "
                f"the index rescores, >= {floor}; docs/storage.md):", "", *_table(headers, rows)]


def _evaluation_rows(check, first: list[str]) -> list[list[str]]:
    from ..render.evaluation import figure_text as number

    return [[*first, r.dtype, number(r.metric), number(r.difference, True),
             "-" if r.interval is None else f"{r.interval[0]:+.4f} to {r.interval[1]:+.4f}",
             "-" if r.dtype == "float32" else f"{r.changed} ({r.worse})", _MARK[r.passed]] for r in check.results]


def _evaluation(checks: list, rows: list[list[str]], headers: list[str]) -> list[str]:
    from ..data.evaluation import LABELS

    metrics = sorted({LABELS.get(c.metric, c.metric) for c in checks})
    drops = sorted({c.max_metric_drop for c in checks})
    drop = f"{drops[0]:g}" if len(drops) == 1 else "each model's max_metric_drop"
    return ["", f"Your metric ({' / '.join(metrics)} on the --eval set; interval: {checks[0].confidence:.0%} paired "
                f"bootstrap of the difference; gate: drop <= {drop}; docs/evaluation.md):", "",
            *_table(headers, rows)]


_EVALUATION_HEADERS = ["precision", "metric", "difference", "interval", "changed (worse)", "gate"]


def scan_summary(report: "Report") -> str:
    m, env = report.model, report.environment
    lines = [f"### precheck scan: {_code(m.name)}: {_MARK[report.verdict.passed]}", ""]
    lines += _table(["dtype", "status", "figure", "recommended fix"], [row for _, row in _rows(report)])
    lines += _serving(report)
    if report.storage is not None:
        lines += _storage([report.storage], _storage_rows(report.storage, []), _STORAGE_HEADERS)
    if report.evaluation is not None:
        lines += _evaluation([report.evaluation], _evaluation_rows(report.evaluation, []), _EVALUATION_HEADERS)
    lines += ["", f"<sub>{m.kind}; {report.settings.probe_items} probe items; torch {env.torch}, transformers "
                  f"{env.transformers}, sentence-transformers {env.sentence_transformers}, device {env.device}</sub>",
              ""]
    return "\n".join(lines)


def ci_summary(run: "CiRun") -> str:
    failing = [r for r in run.runs if not r.passed]
    mark = {0: "PASS", 1: "FAIL", 2: "ERROR"}[run.exit_code]
    lines = [f"### precheck ci ({_code(run.config.path.name)}): {mark}, "
             f"{passing(len(run.runs) - len(failing), len(run.runs))}", ""]
    rows = []
    for model_run in run.runs:
        name = _code(model_run.config.name)
        if model_run.report is None:
            rows.append([name, "-", "ERROR", "cannot run", model_run.error or "", "-", "-"])
            continue
        for case, (first, *row) in _rows(model_run.report, model_run.regressions):
            baseline = "; ".join(case.regressions) or ("ok" if run.baseline_found and case.is_dtype else "-")
            rows.append([name, first, _MARK[case.passed], *row, baseline])
    lines += _table(["model", "dtype or gate", "gate", "status", "figure", "recommended fix", "baseline"], rows)
    lines += ["", "figure: min cosine (embedders) or Spearman (cross-encoders) against float32, loaded in the "
                  "dtype as users load it."]
    checked = [r for r in run.runs if r.report is not None and r.report.storage is not None]
    if checked:
        rows = [row for r in checked for row in _storage_rows(r.report.storage, [_code(r.config.name)])]
        lines += _storage([r.report.storage for r in checked], rows, ["model", *_STORAGE_HEADERS])
    evaluated = [r for r in run.runs if r.report is not None and r.report.evaluation is not None]
    if evaluated:
        rows = [row for r in evaluated for row in _evaluation_rows(r.report.evaluation, [_code(r.config.name)])]
        lines += _evaluation([r.report.evaluation for r in evaluated], rows, ["model", *_EVALUATION_HEADERS])
    lines += [""]
    return "\n".join(lines)


class MarkdownFormat(Format):
    name = "markdown"

    def format(self, result) -> str:
        """A CiRun as the ci table; a Report as the scan table."""
        from ..data.ci import CiRun

        return ci_summary(result) if isinstance(result, CiRun) else scan_summary(result)


MARKDOWN = MarkdownFormat()
