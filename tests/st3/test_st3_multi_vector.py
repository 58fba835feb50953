"""Multi-vector encoders on sentence-transformers 3.0.1, which has no MultiVectorEncoder: one line, exit 2."""
from __future__ import annotations

from conftest import invoke


def test_scan_multi_vector_on_sentence_transformers_without_it_is_one_line_exit_2(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "bert"}', encoding="utf-8")
    (tmp_path / "config_sentence_transformers.json").write_text('{"model_type": "MultiVectorEncoder"}',
                                                                encoding="utf-8")
    run = invoke("scan", tmp_path)
    assert run.exit_code == 2 and run.stderr.count("\n") == 1
    assert "multi-vector-encoder models need a sentence-transformers with MultiVectorEncoder" in run.stderr
