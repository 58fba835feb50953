"""`precheck ci`'s result as data (`precheck.ci/1`): one report (or the reason it could not run) per
model, the regressions against the baseline, and the exit code (2 wins over 1 wins over 0).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .version import __version__


@dataclass
class Regression:
    model: str
    dtype: str
    figure: str
    baseline: float | str
    current: float | str | None
    tolerance: float | None

    @property
    def message(self) -> str:
        if self.figure == "status":
            return f"{self.model} {self.dtype}: status {self.baseline} -> {self.current}"
        if self.current is None:
            return f"{self.model} {self.dtype}: {self.figure} {self.baseline:.6f} -> none"
        drop = self.baseline - self.current
        return (f"{self.model} {self.dtype}: {self.figure} {self.baseline:.6f} -> {self.current:.6f} "
                f"(-{drop:.6f}, tolerance {self.tolerance:g})")


CI_SCHEMA = "precheck.ci/1"


@dataclass
class ModelRun:
    config: object  # gate/config.py's ModelConfig
    report: object | None = None  # Report
    error: str | None = None  # why precheck could not scan it
    regressions: list[Regression] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.error is None and self.report.verdict.passed and not self.regressions


@dataclass
class CiRun:
    config: object  # gate/config.py's CiConfig
    runs: list[ModelRun]
    baseline_found: bool
    identity: dict  # the `run` block (gate/run_identity.py): what makes shards one run
    baseline_updated: bool = False
    shard: str | None = None  # "K/N" when this run scanned one slice of a CI matrix (gate/shard.py)
    update_requested: bool = False  # --update-baseline was given (it writes only when every model scanned)

    @property
    def exit_code(self) -> int:
        if any(r.error for r in self.runs):
            return 2
        return 0 if all(r.passed for r in self.runs) else 1

    def to_dict(self) -> dict:
        return {
            "schema": CI_SCHEMA,
            "precheck": __version__,
            "shard": self.shard,
            "run": self.identity,
            "config": str(self.config.path),
            "baseline": {"path": str(self.config.baseline), "found": self.baseline_found,
                         "updated": self.baseline_updated},
            "passed": self.exit_code == 0,
            "models": [
                {
                    "name": r.config.name,
                    "fix": r.config.fix,
                    "passed": r.passed,
                    "error": r.error,
                    "regressions": [{**vars(g), "message": g.message} for g in r.regressions],
                    "report": r.report.to_dict() if r.report is not None else None,
                }
                for r in self.runs
            ],
        }

    def to_json(self) -> str:
        from .json import JSON

        return JSON.format(self)
