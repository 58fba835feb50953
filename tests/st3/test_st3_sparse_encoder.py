"""Sparse encoders on sentence-transformers 3.0.1, which has no SparseEncoder: refused in one line, before loading."""
from __future__ import annotations

import sparse_models
from conftest import invoke


def test_st3_scan_kind_sparse_encoder_is_refused_naming_the_version(plain_model):
    run = invoke("scan", plain_model, "--kind", "sparse-encoder")
    assert run.exit_code == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "sentence-transformers >= 5.0.0" in lines[0]


def test_st3_scan_sparse_encoder_config_is_refused_before_loading(models_dir):
    folder = sparse_models.build_sparse_config_only(models_dir / "sparse-config-st3")
    run = invoke("scan", folder)
    assert run.exit_code == 2
    assert "sparse-encoder models need sentence-transformers >= 5.0.0" in run.stderr
