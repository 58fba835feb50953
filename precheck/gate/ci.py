"""`precheck ci`: scan every configured model in turn and gate on the lot.

Returns a CiRun: one report (or the reason it could not run) per model, the regressions
against the baseline, and an exit code like scan's (2 wins over 1 wins over 0).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .baseline import Regression, read_baseline, regressions, write_baseline
from .config import CiConfig, ModelConfig
from .run_identity import run_identity
from .. import __version__
from ..errors import PrecheckError



@dataclass
class ModelRun:
    config: ModelConfig
    report: object | None = None  # Report
    error: str | None = None  # why precheck could not scan it
    regressions: list[Regression] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Every gate case passes (engine/verdict.py gate_cases: the verdict, and no regression): the one
        per-dtype outcome that JUnit, HTML, Markdown and the terminal read."""
        from ..engine.verdict import gate_cases

        return self.error is None and all(case.passed for case in gate_cases(self.report, self.regressions))


@dataclass
class CiRun:
    config: CiConfig
    runs: list[ModelRun]
    baseline_found: bool
    baseline_updated: bool = False
    shard: str | None = None  # "K/N" when this run scanned one slice of a CI matrix (shard.py)
    identity: dict | None = None  # the `run` block (run_identity.py): what makes shards one run
    update_requested: bool = False  # --update-baseline was given (it writes only when every model scanned)

    @property
    def exit_code(self) -> int:
        if any(r.error for r in self.runs):
            return 2
        return 0 if all(r.passed for r in self.runs) else 1

    def to_dict(self) -> dict:
        from .ci_schema import CI_SCHEMA

        return {
            "schema": CI_SCHEMA,
            "precheck": __version__,
            "shard": self.shard,
            "run": self.identity if self.identity is not None else run_identity(self.config),
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
        from ..formats.json import JSON

        return JSON.format(self)


def scan_options(model: ModelConfig, overrides: dict | None = None):
    """The model's config keys as ScanOptions, with `ci`'s command-line `overrides` (checked values
    both, by field) over them: only the checks across options are left to make on the two together."""
    from ..resolve import check_across, options_for
    from .config import config_keys, options_from_config

    values = {**options_from_config({key: getattr(model, key) for key in config_keys()}), **(overrides or {})}
    if overrides:
        check_across(values, str)
    return options_for(model.source or model.name, values)


def run_ci(config: CiConfig, update_baseline: bool, progress=lambda _: None, overrides: dict | None = None) -> CiRun:
    """overrides: ScanOptions fields `ci`'s command line sets for every model (precheck/options.py, ci_flag)."""
    from ..engine.scanner import run_scan

    baseline = None if update_baseline else read_baseline(config.baseline)
    runs: list[ModelRun] = []
    for model in config.models:
        progress(f"{model.name}: scanning")
        run = ModelRun(model)
        try:
            # Each scan frees its models before returning: one is resident at a time.
            run.report = run_scan(scan_options(model, overrides), lambda message, name=model.name: progress(f"{name}: {message}"))
        except PrecheckError as exc:
            run.error = exc.one_line()
        except Exception as exc:  # noqa: BLE001 - one model's crash must not cost the others their reports
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            run.error = f"internal error: {type(exc).__name__}: {first}"
        runs.append(run)
    outcome = gate(config, runs, baseline, update_baseline)
    outcome.identity = run_identity(config, overrides)
    return outcome


def gate(config: CiConfig, runs: list[ModelRun], baseline: dict | None, update_baseline: bool) -> CiRun:
    """The runs against the baseline (regressions), or recorded as the new one; `ci` and `merge` share it."""
    for run in runs:
        if run.report is not None and baseline is not None:
            run.regressions = regressions(baseline, run.config.name, run.report, config.tolerance)
    outcome = CiRun(config, runs, baseline_found=baseline is not None, update_requested=update_baseline)
    if update_baseline and all(r.report is not None for r in runs):
        write_baseline(config.baseline, {r.config.name: r.report for r in runs})
        outcome.baseline_updated = True
    return outcome
