"""The verdict: one function of the whole report (every dtype's figures, the storage figures, the
--eval metric's drop, and any gate added later) against its thresholds. `scan`, `ci`, `merge` and the Python API all call `judge`."""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..dtypes import is_quantized
from ..kinds import Kind, kind_for
from ..data.report import DtypeVerdict, ProbeResult, Report, Verdict
from ..data.vocabulary import GATES

# Each quantized precision's own default gate (docs/quantization.md, from measurements on
# all-MiniLM-L6-v2). Quantization loses more than float16 by design: a 0.999 cosine would fail every
# 4-bit model, so 4-bit is gated on what retrieval keeps (top-1 agreement, Spearman) with a floor on
# the cosine that catches a broken load. Set per precision with --gate / [tool.precheck.gates].
QUANTIZED_GATES = {
    **{name: {"min_cosine": 0.98, "min_spearman": 0.98, "min_top1_agreement": 0.8}
       for name in ("int8", "int8wo", "int8dq")},
    **{name: {"min_cosine": 0.8, "min_spearman": 0.95, "min_top1_agreement": 0.8}
       for name in ("nf4", "nf4-fp16", "fp4", "fp4-fp16")},
}


@dataclass(frozen=True)
class Thresholds:
    """The thresholds one precision's runs are judged against."""

    min_cosine: float
    min_spearman: float
    min_top1_agreement: float


def thresholds(source, dtype: str) -> Thresholds:
    """A precision's thresholds from ScanOptions or a report's Settings: float16/bfloat16 take the
    min_* options; a quantized precision its own gate (QUANTIZED_GATES), with the options' `gates`
    over it. A report's Settings.gates holds every gate it used in full, so `merge` rejudges alike."""
    if not is_quantized(dtype):
        return Thresholds(source.min_cosine, source.min_spearman, source.min_top1_agreement)
    return Thresholds(**{**QUANTIZED_GATES[dtype], **(getattr(source, "gates", None) or {}).get(dtype, {})})


def gates_used(options) -> dict[str, dict[str, float]]:
    """Settings.gates: the thresholds of each quantized precision of the run, in full."""
    return {dtype: vars(thresholds(options, dtype)).copy() for dtype in options.dtypes if is_quantized(dtype)}


# The fewest digits each figure is printed with (top-1 as a percentage).
DIGITS = {"top1_agreement": 0, "spearman": 4, "min_cosine": 6, "recall": 3}


def distinct(value: float, threshold: float, figure: str = "recall") -> tuple[str, str]:
    """The value and its threshold with as many digits as it takes for them to read differently:
    a failing 0.997 against 1.0 is never printed as 100% < 100%."""
    percent = figure == "top1_agreement"
    for digits in range(DIGITS.get(figure, 3), 16):
        shown = (f"{value:.{digits}%}", f"{threshold:.{digits}%}") if percent else \
            (f"{value:.{digits}f}", f"{threshold:.{digits}f}")
        if shown[0] != shown[1]:
            return shown[0], shown[1] if percent else f"{threshold:g}"
    return repr(value), repr(threshold)


def miss_text(field: str, value: float, threshold: float, text: str) -> str:
    return text.format(*distinct(value, threshold, field))


def _missed(figures, options) -> list[tuple[str, str, str]]:
    return [gate for gate in GATES
            if getattr(figures, gate[0]) is not None and getattr(figures, gate[0]) < getattr(options, gate[1])]


def classify(comparison, options) -> str:
    """A run's status from its figures against the thresholds (ScanOptions or a report's Settings)."""
    figures = [getattr(comparison, field) for field, _, _ in GATES]
    # A figure that is itself NaN/inf compares False against every threshold: it must not read as a pass.
    if comparison.nonfinite or any(f is not None and not math.isfinite(f) for f in figures):
        return "nonfinite"
    return "drift" if _missed(comparison, options) else "ok"


def compared_nothing(kind: Kind, figures) -> bool:
    """No headline figure and no NaN/inf: nothing was compared, so nothing may be `ok`."""
    return not figures.nonfinite and kind.headline_value(figures) is None


def _summary(kind: Kind, load: ProbeResult, cast: ProbeResult | None, options, items: int) -> str:
    if load.status == "ok":
        return kind.verdict_figures(load)
    if load.status == "unsupported":
        return f"this device cannot run it ({load.error.message if load.error else 'unsupported'})"
    if load.status == "error":
        first_line = load.error.message.splitlines()[0] if load.error and load.error.message else ""
        reason = f"fails: {load.error.type}: {first_line}" if load.error else "fails"
    elif load.status == "nonfinite":
        reason = f"NaN/inf outputs for {load.nonfinite} of {items} probe items"
    else:
        field, threshold, text = next(iter(_missed(load, options)), GATES[-1])
        reason = "drift: " + miss_text(field, getattr(load, field), getattr(options, threshold), text)
    if cast is not None and cast.status == "ok":
        reason += "; casting after a float32 load (.to(dtype)) passes"
    return reason


def storage_gated_figure(row) -> float:
    """The figure --min-recall reads: recall@10 after rescoring where the index rescores."""
    return row.recall_at_10 if row.recall_at_10_rescored is None else row.recall_at_10_rescored


def storage_figure_label(storage, row) -> str:
    """What the gated figure is, in words: never a rescored recall labelled as a plain one."""
    if row.recall_at_10_rescored is None:
        return f"recall@{storage.k}"
    against = " against the original vectors" if storage.rescore_with == "original" else ""
    return f"recall@{storage.k} rescored{against} ({storage.rescore_multiplier}x{storage.k} candidates)"


def storage_row_passes(storage, row) -> bool:
    value = storage_gated_figure(row)
    return value is not None and math.isfinite(value) and value >= storage.min_recall


def storage_message(storage, row) -> str:
    """A failing storage precision (--storage) in one line: JUnit, the annotations, the overviews."""
    value, threshold = distinct(storage_gated_figure(row), storage.min_recall)
    recall_at_1 = ("recall@1 rescored", row.recall_at_1_rescored) if row.recall_at_1_rescored is not None \
        else ("recall@1", row.recall_at_1)
    return (f"stored as {row.precision}: {storage_figure_label(storage, row)} {value} < {threshold} "
            f"({recall_at_1[0]} {recall_at_1[1]:.3f}, Spearman {row.spearman:.4f}, {row.bytes_per_vector} bytes/vector)")


def _unmeasured(storage, dtype_passed: dict[str, bool]) -> list[tuple[str, str]]:
    """(model dtype, precision) the storage gate should have measured and did not: a dtype that
    passed has a row per precision, and one missing is a gate that tested nothing, never a pass."""
    expected = ["float32", *[d for d, ok in dtype_passed.items() if ok]]
    return [(dtype, precision) for dtype in expected for precision in storage.precisions
            if not any(r.model_dtype == dtype and r.precision == precision for r in storage.results)]


def _storage_failures(report: Report, dtype_passed: dict[str, bool]) -> list[str]:
    """Each storage row rejudged from its figures, and a line per failing gate."""
    storage = report.storage
    failures = []
    for row in storage.results:
        row.passed = storage_row_passes(storage, row)
    storage.passed = bool(storage.results) and all(r.passed for r in storage.results)
    for dtype, precision in _unmeasured(storage, dtype_passed):
        storage.passed = False
        failures.append(f"storage {precision} ({dtype} model): not measured")
    for row in storage.results:
        if not row.passed:
            value, threshold = distinct(storage_gated_figure(row), storage.min_recall)
            failures.append(f"storage {row.precision} ({row.model_dtype} model): "
                            f"{storage_figure_label(storage, row)} {value} < {threshold}")
    return failures


# A passing dtype that takes this many times float32's encode time on the CPU costs speed for its memory.
CPU_SLOWER = 1.25


def _with_cpu_time(verdict: DtypeVerdict, load: ProbeResult, report: Report) -> DtypeVerdict:
    """A dtype that passed on the CPU: its encode time against float32's, from the scan's own runs, in the
    verdict's field and summary, since "nothing to do" reads as "use it" while it may run several times slower."""
    reference = report.reference
    if not verdict.passed or report.environment.device != "cpu" or not load.seconds or not reference.seconds:
        return verdict
    ratio = load.seconds / reference.seconds
    verdict.cpu_time_ratio = round(ratio, 2)
    verdict.summary += (f"; on this CPU it took {ratio:.1f}x float32's encode time ({load.seconds:.2f} s against "
                        f"{reference.seconds:.2f} s)")
    return verdict


def judge(report: Report) -> Verdict:
    """The verdict of a whole report from its own figures against its own thresholds: every result's
    status, every storage row, and a line per failing gate. Sets the statuses it recomputes (a
    report read from a file never keeps its own word for them) and returns the Verdict."""
    kind = kind_for(report.model.kind)
    settings = report.settings
    for result in report.results:
        if result.status not in ("error", "unsupported"):
            result.status = "error" if compared_nothing(kind, result) else \
                classify(result, thresholds(settings, result.dtype))
    per_dtype = []
    for dtype in settings.dtypes:
        load = next((r for r in report.results if r.dtype == dtype and r.strategy == "load"), None)
        if load is None:
            per_dtype.append(DtypeVerdict(dtype, False, "error", "not run: no load result"))
            continue
        cast = next((r for r in report.results if r.dtype == dtype and r.strategy == "cast"), None)
        verdict = DtypeVerdict(dtype, load.status == "ok", load.status,
                               _summary(kind, load, cast, thresholds(settings, dtype), settings.probe_items))
        per_dtype.append(_with_cpu_time(verdict, load, report))
    failures = [f"{v.dtype}: {v.summary}" for v in per_dtype if not v.passed]
    if report.storage is not None:
        failures += _storage_failures(report, {v.dtype: v.passed for v in per_dtype})
    if report.evaluation is not None:
        from ..evaluation.gate import evaluation_failures

        failures += evaluation_failures(report.evaluation, list(settings.dtypes))
    # A report that compared nothing passes nothing.
    passed = bool(per_dtype) and not failures
    return Verdict(passed=passed, dtypes=per_dtype, failures=failures)


def rejudge(report: Report) -> None:
    """`precheck merge` and plan files: the verdict recomputed, never taken from the file."""
    report.verdict = judge(report)


@dataclass(frozen=True)
class GateCase:
    """One line of a gate's overview: a dtype of a model, or one of its storage gates. JUnit's test
    cases, the HTML and Markdown overviews, the terminal's grid and the annotations read these."""

    name: str  # "float16", or "storage float32 binary"
    dtype: str  # the model dtype it is about
    passed: bool
    status: str  # a dtype's status (ok, drift, nonfinite, error, unsupported), "regression", "storage", "eval",
    # "verdict"
    message: str  # why it fails; when it passes, the dtype's verdict line (a storage case: its figure)
    seconds: float | None = None  # the load run's, or the storage row's
    regressions: tuple[str, ...] = ()  # this dtype's regression messages against the baseline

    @property
    def is_dtype(self) -> bool:
        return self.status not in ("storage", "eval", "verdict")

    @property
    def dtype_passed(self) -> bool:
        """The dtype's own verdict: a regression fails the case, not the dtype (no fix is searched for it)."""
        return self.status in ("ok", "regression")


def gate_cases(report: Report, regressions=()) -> list[GateCase]:
    """The verdict (judge) as one case per dtype and per storage gate, with `regressions` (anything
    with .dtype and .message) failing their dtype. Every case passes exactly when the verdict passes
    and nothing regressed: a gate the cases do not show fails a case of its own ("verdict")."""
    verdict, storage = report.verdict, report.storage
    cases = []
    for v in verdict.dtypes:
        mine = tuple(g.message for g in regressions if g.dtype == v.dtype)
        regressed = v.passed and bool(mine)  # a failing dtype reads its own failure first
        load = next((r for r in report.results if r.dtype == v.dtype and r.strategy == "load"), None)
        cases.append(GateCase(v.dtype, v.dtype, v.passed and not mine, "regression" if regressed else v.status,
                              mine[0] if regressed else v.summary, load.seconds if load else None, mine))
    if storage is not None:
        for row in storage.results:
            message = storage_message(storage, row) if not row.passed else \
                f"stored as {row.precision}: {storage_figure_label(storage, row)} {storage_gated_figure(row):.3f}"
            cases.append(GateCase(f"storage {row.model_dtype} {row.precision}", row.model_dtype, row.passed,
                                  "storage", message, row.seconds))
        for dtype, precision in _unmeasured(storage, {v.dtype: v.passed for v in verdict.dtypes}):
            cases.append(GateCase(f"storage {dtype} {precision}", dtype, False, "storage",
                                  f"stored as {precision}: not measured"))
    if report.evaluation is not None:
        from ..evaluation.gate import row_message

        check = report.evaluation
        for row in check.results:  # float32's too: a set float32 cannot measure gates nothing
            message = row_message(check, row) if not row.passed else \
                f"{row.metric:.4f} ({row.difference:+.4f} from float32)"
            cases.append(GateCase(f"eval {row.dtype}", row.dtype, row.passed, "eval", message, row.seconds))
    if not verdict.passed and all(c.passed for c in cases):
        cases.append(GateCase("verdict", "-", False, "verdict", "; ".join(verdict.failures) or "fails"))
    return cases


def overview_cases(report: Report, regressions=()) -> list[GateCase]:
    """An overview's rows (the HTML page's, the job summary's, the terminal's grid): every dtype, and
    each gate beside them that fails (the storage table lists the passing ones)."""
    return [c for c in gate_cases(report, regressions) if c.is_dtype or not c.passed]
