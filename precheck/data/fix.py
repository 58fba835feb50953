"""`precheck fix`'s result as data (`precheck.fix/1`): the scan, the plan, where the folder went and
the written folder's own check against float32.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .plan import Plan
from .report import ProbeResult, Report


@dataclass
class FixOutcome:
    report: Report
    plan: Plan | None
    out: Path | None
    check: ProbeResult | None  # the written folder, reloaded and probed against float32

    @property
    def done(self) -> bool:
        return self.plan is not None and self.check is not None and self.check.status == "ok"

    def to_dict(self) -> dict:
        from dataclasses import asdict

        return {
            "schema": "precheck.fix/1",
            "out": str(self.out) if self.out else None,
            "plan": self.plan.to_dict() if self.plan else None,
            "check": asdict(self.check) if self.check else None,
            "done": self.done,
            "report": self.report.to_dict(),
        }

    def to_json(self) -> str:
        from .json import JSON

        return JSON.format(self)
