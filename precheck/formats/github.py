"""The GitHub Actions format of a CI run: workflow commands the runner turns into annotations,
one line per failing model and dtype and per regression; empty when all pass."""
from __future__ import annotations

from .interface import Format
from .junit import storage_message


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
            for verdict in model_run.report.verdict.dtypes:
                mine = [g for g in model_run.regressions if g.dtype == verdict.dtype]
                if not verdict.passed:
                    best = model_run.report.recommended_fix(verdict.dtype)
                    fix = f" (fix: {best.strategy})" if best else ""
                    lines.append(f"::error title=precheck {name} {verdict.dtype}::{_escape(verdict.summary + fix)}")
                for regression in mine:
                    lines.append(f"::error title=precheck {name} {verdict.dtype} regression::"
                                 f"{_escape(regression.message)}")
            storage = model_run.report.storage
            for row in storage.results if storage is not None else []:
                if not row.passed:
                    lines.append(f"::error title=precheck {name} storage {row.model_dtype} {row.precision}::"
                                 f"{_escape(storage_message(storage, row))}")
            evaluation = model_run.report.evaluation
            for row in evaluation.results if evaluation is not None else []:
                if not row.passed:
                    from ..evaluation.gate import row_message

                    lines.append(f"::error title=precheck {name} eval {row.dtype}::"
                                 f"{_escape(row_message(evaluation, row))}")
        return "\n".join(lines)


GITHUB = GithubAnnotationsFormat()
