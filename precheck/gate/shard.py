"""`precheck ci --shard K/N`: the K-th of N stable slices of the configured models.

A model's shard comes from a hash of its name alone, so adding or removing other models
never moves it, and N jobs of a CI matrix cover every model exactly once.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import replace

from ..errors import PrecheckError

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_shard(text: str) -> tuple[int, int]:
    """'K/N' with 1 <= K <= N, as CI matrices number their jobs (GitLab's CI_NODE_INDEX starts at 1)."""
    match = _SHARD.match(text or "")
    if not match:
        raise PrecheckError(f"--shard {text!r} is not K/N", "for example --shard 1/4 (shards count from 1)")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise PrecheckError(f"--shard {text}: K must be between 1 and N", "for example --shard 1/4 (shards count from 1)")
    return index, count


def shard_of(name: str, count: int) -> int:
    """1..count. sha256, not hash(): Python salts str hashes per process."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def select_shard(config, index: int, count: int):
    """The config with only the models of shard index/count (possibly none)."""
    return replace(config, models=tuple(m for m in config.models if shard_of(m.name, count) == index))


def run_ci_shard(config, shard: str, update_baseline: bool, progress=lambda _: None, overrides: dict | None = None):
    """`precheck ci` over one shard; the CiRun says which, for `precheck merge`."""
    from .ci import run_ci
    from .run_identity import run_identity

    index, count = parse_shard(shard)
    if update_baseline:
        raise PrecheckError("--update-baseline with --shard would record only this shard's models",
                            "record the baseline with `precheck merge --update-baseline` over every shard's report")
    run = run_ci(select_shard(config, index, count), update_baseline, progress, overrides)
    run.shard = f"{index}/{count}"
    run.identity = run_identity(config, overrides)  # the whole run's, as every shard of it records
    return run
