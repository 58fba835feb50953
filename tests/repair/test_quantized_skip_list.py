"""A keep-unquantized plan keeps transformers' own default skip list (a masked-LM decoder tied to the
word embeddings), and an error raised with no message says where it was raised (issue 35, item 3)."""
from __future__ import annotations

import inspect

import pytest

from sparse_models import SPARSE_OVERFLOW_LAYER, SPARSE_TEST_LAYERS


@pytest.fixture(scope="module")
def tiny_splade_nf4(tmp_path_factory, tiny_texts):
    """A SPLADE model (MiniLM's first three layers under a masked-LM head whose decoder is tied to the word
    embeddings) with one layer past float16's range, at 4-bit computing in float16: NaN, so the
    keep-unquantized search runs, and each of its candidate loads encodes through the tied decoder."""
    from sparse_models import build_splade_model

    from precheck import scan

    folder = build_splade_model(tmp_path_factory.mktemp("splade") / "splade-overflow", overflow=True,
                                layers=SPARSE_TEST_LAYERS)
    return scan(str(folder), dtypes="nf4-fp16", texts_file=tiny_texts)


def test_keep_unquantized_plans_keep_the_tied_decoder_out_of_quantization(tiny_splade_nf4):
    kept = next(f for f in tiny_splade_nf4.fixes if f.strategy == "keep-unquantized")
    assert "cls.predictions.decoder" in kept.keep_unquantized
    assert any(m.startswith(f"bert.encoder.layer.{SPARSE_OVERFLOW_LAYER}") for m in kept.keep_unquantized)
    beside = kept.detail.split("beside transformers' default ", 1)[1].split(")", 1)[0]
    assert "cls.predictions.decoder" in beside.split(", ")
    assert "llm_int8_skip_modules" in kept.snippet and "'cls.predictions.decoder'" in kept.snippet


def test_keep_unquantized_candidates_on_a_tied_decoder_run_without_error(tiny_splade_nf4):
    kept = next(f for f in tiny_splade_nf4.fixes if f.strategy == "keep-unquantized")
    # Each candidate loaded and encoded: figures to judge (this head drifts at 4-bit), never an error.
    assert kept.probe_runs > 0 and kept.status in ("ok", "drift")
    assert "AssertionError" not in kept.detail and "error" not in kept.detail.split("; ")[-1]


def test_drift_is_never_blamed_on_a_block_without_parameters():
    from precheck.diagnosis.blocks import innermost_worst, ranked_with
    from precheck.data.report import BlockDrift

    # A SPLADE pipeline's rows: its pooling ("1") adds the most, as a max over log(1 + relu) of drifted
    # logits does, yet it holds nothing a fix could keep; the layer that adds the most inside "0" is blamed.
    rows = [BlockDrift("0", 0.05, 0.05), BlockDrift("0.auto_model.bert.encoder.layer.0", 0.01, 0.01),
            BlockDrift("0.auto_model.bert.encoder.layer.1", 0.04, 0.03), BlockDrift("1", 0.2, 0.15)]
    holds = {"0", "0.auto_model.bert.encoder.layer.0", "0.auto_model.bert.encoder.layer.1"}
    worst = innermost_worst(rows, {"0": "module", "1": "module"}, holds)
    assert worst.module == "0.auto_model.bert.encoder.layer.1"
    assert [r.module for r in ranked_with(worst, rows, holds)] == [
        "0.auto_model.bert.encoder.layer.1", "0.auto_model.bert.encoder.layer.0"]


def _library_assert():
    # What a library's bare `assert` raises (bitsandbytes' fix_4bit_weight_quant_state_from_module): pytest
    # rewrites the asserts of test modules to carry a message, so the bare one is spelled out.
    raise AssertionError


def test_an_error_with_no_message_names_its_type_and_where_it_was_raised():
    from precheck.data.report import error_info

    try:
        _library_assert()
    except AssertionError as exc:
        error = error_info(exc)
    source, first = inspect.getsourcelines(_library_assert)
    line = first + next(i for i, text in enumerate(source) if "raise AssertionError" in text)
    assert error.type == "AssertionError"
    assert error.message == f"raised with no message at {__file__}:{line} (_library_assert)"
