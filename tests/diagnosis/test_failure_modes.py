"""The rest of shared/FAILURE_MODES.md on real models: overflow that only long inputs reach,
and NaN that float32 has too (not half precision's fault)."""
from __future__ import annotations

import pytest

from conftest import PROBE_TEXTS, scan_json
from fixture_models import LONG_FROM_POSITION, NAN_WORD

# Past the overflowing positions by a few tokens: every text of the batch is padded to its length in float16.
LONG_TEXT = " ".join(["precision"] * (LONG_FROM_POSITION + 16))


@pytest.fixture(scope="module")
def length_overflow_scan(length_overflow_model, tmp_path_factory):
    """The length overflow on MiniLM's first two layers: what overflows is the position embeddings."""
    folder = tmp_path_factory.mktemp("length")
    path = folder / "texts.txt"
    path.write_text("\n".join(PROBE_TEXTS + [LONG_TEXT]) + "\n")
    return scan_json(length_overflow_model, path, "-d", "fp16", "--no-fix")


def test_overflow_only_long_inputs_reach_is_caught(length_overflow_scan):
    run, report = length_overflow_scan
    assert run.exit_code == 1
    load = next(r for r in report["results"] if r["strategy"] == "load")
    assert load["status"] == "nonfinite" and load["nonfinite"] >= 1


def test_length_dependent_overflow_is_traced_to_the_long_text(length_overflow_scan):
    _, report = length_overflow_scan
    found = next(d for d in report["diagnoses"] if d["strategy"] == "load")
    assert found["probe_items"] == [len(PROBE_TEXTS)]
    assert "position_embeddings" in found["module"]
    assert "only the long inputs trigger it" in found["detail"]


def test_padding_that_spreads_the_overflow_in_batches_is_explained(length_overflow_scan):
    _, report = length_overflow_scan
    load = next(r for r in report["results"] if r["strategy"] == "load")
    found = next(d for d in report["diagnoses"] if d["strategy"] == "load")
    # Encoded together, the short texts are padded into the overflowing positions.
    assert load["nonfinite"] == len(PROBE_TEXTS) + 1
    assert "padded to the triggering inputs' length" in found["detail"]


def test_nan_already_in_float32_is_not_blamed_on_half_precision(nan_in_float32_model, tmp_path):
    path = tmp_path / "texts.txt"
    path.write_text("\n".join(PROBE_TEXTS + [f"a {NAN_WORD} at the zoo"]) + "\n")
    run, report = scan_json(nan_in_float32_model, path, "--no-fix")
    assert report["reference"]["nonfinite"] == 1
    assert run.exit_code == 0
    assert all(r["status"] == "ok" and r["nonfinite"] == 0 for r in report["results"])
    assert any("already NaN/inf in float32" in note for note in report["notes"])
