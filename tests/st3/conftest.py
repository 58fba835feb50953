"""The sentence-transformers 3.0.1 + transformers 4.44.2 selection: every test in this folder is
marked st3 (run by scripts/test in .venv-st3), and the one float16 scan of the Dense model that
the original bug report describes is run once and shared."""
from __future__ import annotations

from pathlib import Path

import pytest

from output_checks import scan_view_and_report
from shared_runs import shared_run

HERE = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    # tryfirst: the marker must be on the items before -m 'not st3' / -m st3 selects them.
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.st3)


@shared_run
def dense_fp16(dense_model, probe_file, tmp_path_factory):
    """(exit code, terminal view at 80 columns, JSON report) of `scan DENSE -d fp16`, with the fix search."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("COLUMNS", raising=False)
        return scan_view_and_report(dense_model, probe_file, tmp_path_factory.mktemp("dense-fp16"), "-d", "fp16")
