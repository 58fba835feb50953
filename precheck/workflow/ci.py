"""The CI gate as one workflow: `precheck.ci`/`precheck.merge` in Python and `precheck ci`/`merge` on the
command line run these same functions; the commands add only their outputs' checks, views and exit codes.

Each is two steps, so that a command checks its outputs against what the project config makes it read
before any model loads: `start_*` reads and checks every input (config, baseline, --shard), `run_*` does the work.
"""
from __future__ import annotations

from pathlib import Path

from ..data.ci import CiRun
from ..errors import ConfigNotFound


def _silent(_: str) -> None:
    pass


def start_ci(config: Path | None, update_baseline: bool, shard: str | None, cwd: Path | None = None):
    """The project config, its baseline readable and --shard well formed, before any scan."""
    from ..gate.baseline import read_baseline
    from ..gate.config import load_config
    from ..gate.shard import parse_shard

    if shard is not None:
        parse_shard(shard)
    settings = load_config(config, cwd or Path.cwd())
    if not update_baseline:
        read_baseline(settings.baseline)  # a malformed baseline stops precheck before any scan
    return settings


def run_ci(settings, update_baseline: bool, shard: str | None, overrides: dict, progress=_silent) -> CiRun:
    """Every model of the config (or the shard's slice of them) scanned and gated."""
    from ..gate.ci import run_ci as run_all
    from ..gate.shard import run_ci_shard

    if shard is not None:
        return run_ci_shard(settings, shard, update_baseline, progress, overrides)
    return run_all(settings, update_baseline, progress, overrides)


def ci_overrides(options: dict) -> dict:
    """Python keywords of `precheck.ci`: only the options `precheck ci` takes on its command line (ci_flag),
    checked as every option is (resolve.py, the keywords' door)."""
    from dataclasses import replace

    from ..errors import OptionRefused
    from ..options import scan_fields
    from ..resolve import KEYWORDS, resolve

    def refused(key: str, known: list[str]) -> OptionRefused:
        return OptionRefused(f"{key}: not an option of precheck.ci",
                             f"its options: {', '.join(known)}; set the others in the project config", key)

    takes = tuple(f.name for f, how in scan_fields() if how.ci_flag)
    return resolve(options, replace(KEYWORDS, takes=takes, unknown=refused))


def ci(config: Path | str | None = None, update_baseline: bool = False, shard: str | None = None,
       progress=_silent, **options) -> CiRun:
    """Scan every model of the project config (precheck.toml or pyproject.toml's [tool.precheck]; default:
    looked for from the current folder) and gate on the lot, as `precheck ci` does: the CiRun, whose
    `exit_code` is the command's. options: what `precheck ci` takes on its command line (device,
    batch_size, ...), for every model."""
    overrides = ci_overrides(options)
    settings = start_ci(Path(config) if config is not None else None, update_baseline, shard)
    return run_ci(settings, update_baseline, shard, overrides, progress)


def start_merge(config: Path | None, update_baseline: bool, cwd: Path | None = None):
    """The project config the shards are held against; None when there is none and none was named
    (the shards' own settings and baseline checks stand). --update-baseline needs one."""
    from ..gate.config import load_config

    try:
        return load_config(config, cwd or Path.cwd())
    except ConfigNotFound:
        if config is not None or update_baseline:
            raise
        return None


def merge(reports: list[Path | str], config: Path | str | None = None, update_baseline: bool = False) -> CiRun:
    """The shard reports of a `precheck ci --shard K/N` matrix as one gate, as `precheck merge` does."""
    from ..gate.merge import merge_reports

    settings = start_merge(Path(config) if config is not None else None, update_baseline)
    return merge_reports([Path(report) for report in reports], settings, update_baseline)
