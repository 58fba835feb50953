"""The JUnit format of a CI run: one test case per model and dtype, failures carrying the
diagnosis and the fix snippet, so that CI systems show which model and dtype broke."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from .interface import Format


def _failure_text(report, dtype: str, regressions) -> str:
    lines = [v.summary for v in report.verdict.dtypes if v.dtype == dtype and not v.passed]
    for d in report.diagnoses:
        if d.dtype == dtype and d.strategy == "load":
            lines.append(f"diagnosis: {d.cause} at {d.module or '-'}: {d.detail}")
    best = report.recommended_fix(dtype)
    if best is not None:
        lines.append(f"recommended fix: {best.strategy}\n{best.snippet}")
    lines.extend(f"regression: {g.message}" for g in regressions)
    return "\n".join(lines)


def storage_message(storage, row) -> str:
    """A failing storage precision (--storage) in one line, for JUnit and the annotations."""
    from ..engine.verdict import distinct, storage_figure_label, storage_gated_figure

    value, threshold = distinct(storage_gated_figure(row), storage.min_recall)
    recall_at_1 = ("recall@1 rescored", row.recall_at_1_rescored) if row.recall_at_1_rescored is not None \
        else ("recall@1", row.recall_at_1)
    return (f"stored as {row.precision}: {storage_figure_label(storage, row)} {value} < {threshold} "
            f"({recall_at_1[0]} {recall_at_1[1]:.3f}, Spearman {row.spearman:.4f}, {row.bytes_per_vector} bytes/vector)")


def _storage_case(suite, name: str, storage, row) -> None:
    """One case per model dtype x storage precision (--storage): `storage float16 int8`."""
    case = ET.SubElement(suite, "testcase", classname=name, name=f"storage {row.model_dtype} {row.precision}")
    case.set("time", f"{row.seconds:.3f}")
    if not row.passed:
        ET.SubElement(case, "failure", message=storage_message(storage, row), type="storage")


def _evaluation_case(suite, name: str, check, row) -> None:
    """One case per precision of --eval's set (float32's too: a set it cannot measure gates nothing)."""
    from ..evaluation.gate import row_message

    case = ET.SubElement(suite, "testcase", classname=name, name=f"eval {row.dtype}")
    if row.seconds is not None:
        case.set("time", f"{row.seconds:.3f}")
    if not row.passed:
        ET.SubElement(case, "failure", message=row_message(check, row), type="eval")


class JUnitFormat(Format):
    name = "junit"

    def format(self, run) -> str:
        """`run`: a CiRun (gate/ci.py)."""
        suite = ET.Element("testsuite", name="precheck")
        tests = failures = errors = 0
        for model_run in run.runs:
            name = model_run.config.name
            if model_run.report is None:
                tests += 1
                errors += 1
                case = ET.SubElement(suite, "testcase", classname=name, name="scan")
                ET.SubElement(case, "error", message=model_run.error or "could not scan").text = model_run.error
                continue
            report = model_run.report
            for verdict in report.verdict.dtypes:
                tests += 1
                case = ET.SubElement(suite, "testcase", classname=name, name=verdict.dtype)
                result = report.result(verdict.dtype, "load")
                if result.seconds is not None:
                    case.set("time", f"{result.seconds:.3f}")
                mine = [g for g in model_run.regressions if g.dtype == verdict.dtype]
                if not verdict.passed or mine:
                    failures += 1
                    message = verdict.summary if not verdict.passed else mine[0].message
                    kind = verdict.status if not verdict.passed else "regression"
                    ET.SubElement(case, "failure", message=message, type=kind).text = \
                        _failure_text(report, verdict.dtype, mine)
            for row in report.storage.results if report.storage is not None else []:
                tests += 1
                failures += not row.passed
                _storage_case(suite, name, report.storage, row)
            for row in report.evaluation.results if report.evaluation is not None else []:
                tests += 1
                failures += not row.passed
                _evaluation_case(suite, name, report.evaluation, row)
        suite.set("tests", str(tests))
        suite.set("failures", str(failures))
        suite.set("errors", str(errors))
        ET.indent(suite)
        return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


JUNIT = JUnitFormat()
