"""The JUnit format of a CI run: one test case per model and dtype and per storage gate
(engine/verdict.py gate_cases), failures carrying the diagnosis and the fix snippet, so that CI
systems show which model and dtype broke."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from ..engine.verdict import gate_cases
from .interface import Format


def _failure_text(report, dtype: str, regressions) -> str:
    lines = [v.summary for v in report.verdict.dtypes if v.dtype == dtype and not v.passed]
    for d in report.diagnoses:
        if d.dtype == dtype and d.strategy == "load":
            lines.append(f"diagnosis: {d.cause} at {d.module or '-'}: {d.detail}")
    best = report.recommended_fix(dtype)
    if best is not None:
        lines.append(f"recommended fix: {best.strategy}\n{best.snippet}")
    lines.extend(f"regression: {message}" for message in regressions)
    return "\n".join(lines)


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
            for gate in gate_cases(report, model_run.regressions):
                tests += 1
                case = ET.SubElement(suite, "testcase", classname=name, name=gate.name)
                if gate.seconds is not None:
                    case.set("time", f"{gate.seconds:.3f}")
                if not gate.passed:
                    failures += 1
                    failure = ET.SubElement(case, "failure", message=gate.message, type=gate.status)
                    if gate.is_dtype:
                        failure.text = _failure_text(report, gate.dtype, gate.regressions)
        suite.set("tests", str(tests))
        suite.set("failures", str(failures))
        suite.set("errors", str(errors))
        ET.indent(suite)
        return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


JUNIT = JUnitFormat()
