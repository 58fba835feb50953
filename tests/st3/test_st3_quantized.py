"""Quantized precisions on sentence-transformers 3.0.1 + transformers 4.44.2: refused in one line
before any load (that transformers loads bitsandbytes only on a CUDA GPU; docs/quantization.md)."""
from __future__ import annotations

import pytest

from cli_checks import assert_one_line_error
from conftest import invoke


@pytest.mark.parametrize("dtype", ["int8", "nf4", "int8wo"])
def test_st3_scan_refuses_a_quantized_precision_in_one_line(tiny_model, dtype):
    run = invoke("scan", tiny_model, "--dtype", dtype)
    assert_one_line_error(run)
    assert "precheck-st[quant]" in run.stderr or "transformers 5" in run.stderr
