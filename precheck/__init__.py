"""precheck: will this sentence-transformers model survive half precision?

`precheck.scan(model, ...)` returns the Report that `precheck scan` renders;
`precheck.load(model, dtype="fp16")` returns a SentenceTransformer with its fix applied;
`precheck.fix(model, "fp16")` returns a fixed copy of a name or a loaded model, and its plan;
`precheck.ci()` and `precheck.merge(reports)` gate a project as `precheck ci` and `precheck merge` do.
Imports of torch and sentence-transformers wait until a function needs them.
"""
from __future__ import annotations

__all__ = ["scan", "load", "fix", "ci", "merge", "PrecheckError"]

from .data.version import __version__  # noqa: F401  (precheck.__version__)
from .errors import PrecheckError


def scan(model, dtypes=("fp16", "bf16"), device: str = "auto", **options):
    """Scan MODEL as `precheck scan` does and return the Report object. MODEL is a name or folder, or a
    loaded SentenceTransformer / CrossEncoder / SparseEncoder / MultiVectorEncoder, which is left as it was
    (the report's model.source is "object"; the load options below are for names only).

    options: any field of ScanOptions (precheck/options.py), checked as the CLI checks them: trust_remote_code,
    texts_file, pairs_file, min_cosine, min_spearman, kind, batch_size, depth, fix, and the load options
    (revision, model_kwargs, config_kwargs, tokenizer_kwargs, attn_implementation, max_seq_length, prompt_name,
    prompt, truncate_dim), and eval (a BEIR folder or scored-pairs file: your own metric per precision,
    gated by max_metric_drop; docs/evaluation.md), or evaluator (a sentence-transformers evaluator object,
    run on float32 and each precision, its primary metric gated likewise).
    """
    from .engine.scanner import run_scan
    from .resolve import api_options

    return run_scan(api_options(model, dtypes=dtypes, device=device, **options))


def load(name_or_path: str, dtype: str = "fp16", device: str = "auto", trust_remote_code: bool = False,
         scan: bool = True, **options):
    """A SentenceTransformer that works in dtype: the plan in the folder's precheck.json, or one
    found on the spot by a scan (options as for scan; logged on the "precheck" logger with its cost).
    Raises PrecheckError when none is verified, or with scan=False when the folder has no plan for dtype."""
    from .workflow.fix import load as load_with_plan

    return load_with_plan(name_or_path, dtype, device, trust_remote_code, scan=scan, **options)


def fix(model, dtype: str = "fp16", device: str = "auto", **options):
    """(fixed, plan): a copy of MODEL (a name, folder or loaded model, which is left as it was) with the
    verified fix for dtype applied, and the Plan. Raises PrecheckError when no fix is verified."""
    from .workflow.fix import fixed_copy

    return fixed_copy(model, dtype, device, **options)


def ci(config=None, update_baseline: bool = False, shard: str | None = None, **options):
    """Scan every model of the project config and gate on the lot, as `precheck ci` does; returns the CiRun
    (its `exit_code` is the command's, `to_json()` its --json). config: precheck.toml or pyproject.toml
    (default: looked for from the current folder); options: those `precheck ci` takes on its command line."""
    from .workflow.ci import ci as run

    return run(config, update_baseline, shard, **options)


def merge(reports, config=None, update_baseline: bool = False):
    """The shard reports of a `precheck ci --shard K/N` matrix as one gate, as `precheck merge` does."""
    from .workflow.ci import merge as run

    return run(reports, config, update_baseline)
