"""Evidence that matches the cause (issue 32): an overflow is quoted where float16's range is passed,
the Linear's output before the LayerNorm after it, with that module's name; headroom and the --html
plot show each block's largest value anywhere inside it, so the overflowing block crosses 65504."""
from __future__ import annotations

import re

import fixture_models
import pytest

from conftest import scan_json

FLOAT16_MAX = 65504.0
LAYER = f"encoder.layer.{fixture_models.NORMED_OVERFLOW_LAYER}"


@pytest.fixture(scope="module")
def normed_overflow_scan(tmp_path_factory, probe_file):
    # MiniLM's first layers up to the one scaled: what overflows is that layer's Linear.
    model = fixture_models.build_normed_overflow_model(tmp_path_factory.mktemp("models") / "normed-overflow",
                                                       layers=fixture_models.NORMED_OVERFLOW_LAYER + 1)
    # nf4-fp16 runs on CPU as tests/scan/test_quantized.py runs it (bitsandbytes' CPU path).
    return scan_json(model, probe_file, "--dtype", "fp16,nf4-fp16", "--no-fix")


def quoted_values(detail: str) -> list[float]:
    return [float(value.replace(",", "")) for value in re.findall(r"reaches ([\d,.]+)", detail)]


def diagnosis_of(report: dict, dtype: str) -> dict:
    return next(d for d in report["diagnoses"] if d["dtype"] == dtype)


def test_float16_overflow_quotes_the_linear_past_65504_not_the_normed_output(normed_overflow_scan):
    _, report = normed_overflow_scan
    diagnosis = diagnosis_of(report, "float16")
    assert diagnosis["cause"] == "overflow" and diagnosis["module"].endswith(fixture_models.NORMED_OVERFLOW_MODULE)
    assert f"in float32 {diagnosis['module']} reaches" in diagnosis["detail"], diagnosis["detail"]
    assert quoted_values(diagnosis["detail"]) and min(quoted_values(diagnosis["detail"])) >= FLOAT16_MAX


def test_nf4_fp16_compute_dtype_range_quotes_the_linear_past_65504(normed_overflow_scan):
    _, report = normed_overflow_scan
    diagnosis = diagnosis_of(report, "nf4-fp16")
    assert diagnosis["cause"] == "compute-dtype-range", diagnosis
    assert f"{fixture_models.NORMED_OVERFLOW_MODULE} reaches" in diagnosis["detail"], diagnosis["detail"]
    assert quoted_values(diagnosis["detail"]) and min(quoted_values(diagnosis["detail"])) >= FLOAT16_MAX


def test_headroom_of_the_overflowing_block_is_its_largest_value_inside_it(normed_overflow_scan):
    _, report = normed_overflow_scan
    rows = {row["module"].split(".model.", 1)[-1]: row for row in report["headroom"]}
    for block in (LAYER, f"{LAYER}.output"):
        assert rows[block]["max_abs"] >= FLOAT16_MAX and rows[block]["fp16_fraction"] >= 1, rows[block]
        assert rows[block]["max_at"].endswith(fixture_models.NORMED_OVERFLOW_MODULE)


def test_html_headroom_bar_of_the_overflowing_block_crosses_the_line(normed_overflow_scan):
    from precheck.formats.html_plots import headroom_bars
    from precheck.data.report import Headroom

    _, report = normed_overflow_scan
    bars = headroom_bars([Headroom(**row) for row in report["headroom"]])
    layer_bar = next((value, label) for label, value, _ in bars if label.split(" ")[0].endswith(LAYER))
    assert layer_bar[0] >= FLOAT16_MAX, layer_bar
    assert "output.dense" in layer_bar[1]


def headroom_rows(part_max: float, layer_max: float) -> list:
    from precheck.data.report import Headroom

    layer = "0.model.encoder.layer.1"
    return [Headroom("0", "Transformer", "module", 1e6, 1e6 / FLOAT16_MAX, "0.model.embeddings.word_embeddings"),
            Headroom(layer, "BertLayer", "layer", layer_max, layer_max / FLOAT16_MAX, f"{layer}.intermediate.dense"),
            Headroom(f"{layer}.output", "BertOutput", "part", part_max, part_max / FLOAT16_MAX,
                     f"{layer}.output.LayerNorm")]


def test_no_value_below_65504_is_quoted_as_the_evidence_of_an_overflow():
    from precheck.diagnosis.blocks import overflow_evidence

    evidence = overflow_evidence(headroom_rows(9.66, 120.0), "0.model.encoder.layer.1.output.dense")
    assert "reaches" not in evidence and "9.66" not in evidence and "passes 65504" in evidence


def test_an_overflow_fed_from_before_its_block_quotes_where_its_input_passed_65504():
    from precheck.diagnosis.blocks import overflow_evidence

    evidence = overflow_evidence(headroom_rows(9.66, 2.0e5), "0.model.encoder.layer.1.output.dense")
    assert evidence.startswith("in float32 0.model.encoder.layer.1.intermediate.dense reaches 200,000")
