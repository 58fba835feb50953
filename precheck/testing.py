"""precheck in a test suite: `assert_survives(model, "fp16")` passes when the model survives the dtype(s)
and raises AssertionError with the verdict lines and the diagnosis (module, cause, verified fix) when not.
"""
from __future__ import annotations


def assert_survives(model, dtypes="fp16", **options):
    """Scan MODEL (a name, a folder or a loaded model, which is left as it was) as precheck.scan does, and
    return the Report when every dtype passes; options as for precheck.scan (the fix search is on, so the
    message can give the fix that was verified)."""
    from . import scan

    report = scan(model, dtypes=dtypes, **options)
    if not report.verdict.passed:
        raise AssertionError(failure_message(report))
    return report


def failure_message(report) -> str:
    """The verdict lines, then for each failing dtype where and why it fails and the fix verified for it."""
    lines = [f"{report.model.name} does not survive {', '.join(v.dtype for v in report.verdict.dtypes if not v.passed)}"]
    lines += report.verdict.failures or [v.summary for v in report.verdict.dtypes if not v.passed]
    for verdict in report.verdict.dtypes:
        if verdict.passed:
            continue
        for diagnosis in report.diagnoses:
            if diagnosis.dtype == verdict.dtype and diagnosis.strategy == "load":
                where = f" in {diagnosis.module}" + (f" ({diagnosis.module_class})" if diagnosis.module_class else "")
                lines.append(f"diagnosis {verdict.dtype}: {diagnosis.cause}{where}: {diagnosis.detail}")
        best = report.recommended_fix(verdict.dtype)
        if best is not None:
            lines.append(f"verified fix {verdict.dtype}: {best.strategy}: {best.detail}")
            if report.model.source == "object":  # no name to load: the fix is applied to a copy of the object
                lines.append(f'    fixed, plan = precheck.fix(model, "{verdict.dtype}")')
            else:
                lines += ["    " + line for line in best.precheck_snippet.strip().splitlines()]
        else:
            lines.append(f"verified fix {verdict.dtype}: none found")
    return "\n".join(lines)
