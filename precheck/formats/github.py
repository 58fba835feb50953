"""The GitHub Actions format of a CI run: workflow commands the runner turns into annotations,
one line per failing model and dtype and per regression; empty when all pass."""
from __future__ import annotations

from ..engine.verdict import gate_cases
from .interface import Format


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


class GithubAnnotationsFormat(Format):
    name = "github"

    def format(self, run) -> str:
        """`run`: a CiRun (gate/ci.py)."""
        lines = []
        for model_run in run.runs:
            name = model_run.config.name
            if model_run.report is None:
                lines.append(f"::error title=precheck {name}::{_escape(model_run.error or 'could not scan')}")
                continue
            for gate in gate_cases(model_run.report, model_run.regressions):
                if not gate.passed and gate.status != "regression":
                    best = model_run.report.recommended_fix(gate.dtype) if gate.is_dtype else None
                    fix = f" (fix: {best.strategy})" if best else ""
                    lines.append(f"::error title=precheck {name} {gate.name}::{_escape(gate.message + fix)}")
                lines += [f"::error title=precheck {name} {gate.dtype} regression::{_escape(message)}"
                          for message in gate.regressions]
        return "\n".join(lines)


GITHUB = GithubAnnotationsFormat()
