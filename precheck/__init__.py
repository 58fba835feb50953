"""precheck: will this sentence-transformers model survive half precision?

`precheck.scan(model, ...)` returns the Report that `precheck scan` renders. Imports of
torch and sentence-transformers wait until a function needs them.
"""
from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["scan", "PrecheckError"]

from .errors import PrecheckError


def scan(model: str, dtypes=("fp16", "bf16"), device: str = "auto", **options):
    """Scan MODEL as `precheck scan` does and return the Report object.

    options: trust_remote_code, texts_file, min_cosine, batch_size, depth (as ScanOptions).
    """
    from .dtypes import parse_low_dtypes
    from .scanner import ScanOptions, run_scan

    return run_scan(ScanOptions(model=model, dtypes=parse_low_dtypes(list(dtypes)), device=device, **options))
