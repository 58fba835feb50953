"""`precheck ci`: scan every configured model in turn and gate on the lot.

Returns a CiRun: one report (or the reason it could not run) per model, the regressions
against the baseline, and an exit code like scan's (2 wins over 1 wins over 0).
"""
from __future__ import annotations

from ..data.ci import CiRun, ModelRun
from ..errors import PrecheckError
from .baseline import read_baseline, regressions, write_baseline
from .config import CiConfig, ModelConfig
from .run_identity import run_identity

def scan_options(model: ModelConfig):
    """The model's config keys as ScanOptions (precheck/options.py maps one to the other)."""
    from ..options import ScanOptions
    from .config import config_keys, options_from_config

    values = {key: getattr(model, key) for key in config_keys()}
    return ScanOptions(model=model.source or model.name, **options_from_config(values))


def run_ci(config: CiConfig, update_baseline: bool, progress=lambda _: None, overrides: dict | None = None) -> CiRun:
    """overrides: ScanOptions fields `ci`'s command line sets for every model (precheck/options.py, ci_flag)."""
    from dataclasses import replace

    from ..engine.scanner import run_scan

    baseline = None if update_baseline else read_baseline(config.baseline)
    runs: list[ModelRun] = []
    for model in config.models:
        progress(f"{model.name}: scanning")
        run = ModelRun(model)
        try:
            # Each scan frees its models before returning: one is resident at a time.
            run.report = run_scan(replace(scan_options(model), **(overrides or {})), lambda message, name=model.name: progress(f"{name}: {message}"))
        except PrecheckError as exc:
            run.error = exc.one_line()
        except Exception as exc:  # noqa: BLE001 - one model's crash must not cost the others their reports
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            run.error = f"internal error: {type(exc).__name__}: {first}"
        runs.append(run)
    return gate(config, runs, baseline, update_baseline, run_identity(config, overrides))


def gate(config: CiConfig, runs: list[ModelRun], baseline: dict | None, update_baseline: bool,
         identity: dict) -> CiRun:
    """The runs against the baseline (regressions), or recorded as the new one; `ci` and `merge` share it."""
    for run in runs:
        if run.report is not None and baseline is not None:
            run.regressions = regressions(baseline, run.config.name, run.report, config.tolerance)
    outcome = CiRun(config, runs, baseline_found=baseline is not None, identity=identity,
                    update_requested=update_baseline)
    if update_baseline and all(r.report is not None for r in runs):
        write_baseline(config.baseline, {r.config.name: r.report for r in runs})
        outcome.baseline_updated = True
    return outcome
