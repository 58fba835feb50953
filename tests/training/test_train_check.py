"""precheck train-check: pure float16 training goes NaN; amp and bf16 stay finite (issue 5)."""
from __future__ import annotations

import jsonschema
import pytest

from conftest import invoke


@pytest.fixture(scope="module")
def cross_encoder_training(cross_encoder_training_run):
    """The session's `train-check CROSS --steps 4` (train_check_cross_encoder, half asked): (run, JSON report)."""
    return cross_encoder_training_run, cross_encoder_training_run.report


def modes(report: dict) -> dict[str, dict]:
    return {m["mode"]: m for m in report["modes"]}


def test_train_check_half_fp16_goes_nonfinite_with_step_and_parameter(cross_encoder_training):
    run, report = cross_encoder_training
    assert run.exit_code == 1
    half = modes(report)["half"]
    assert half["weights_dtype"] == "float16"
    assert half["trains_finite"] is False
    assert half["first_nonfinite"]["step"] >= 1
    assert half["first_nonfinite"]["what"] in ("loss", "gradient", "parameter")
    if half["first_nonfinite"]["what"] != "loss":
        assert half["first_nonfinite"]["parameter"]


def test_train_check_amp_and_bf16_train_finite(cross_encoder_training):
    _, report = cross_encoder_training
    for name in ("amp", "bf16"):
        mode = modes(report)[name]
        assert mode["trains_finite"] is True
        assert mode["predictions_finite"] is True
        assert len(mode["losses"]) == 4
        assert mode["max_abs_diff_vs_float32"] is not None


def test_train_check_recommends_a_mode_that_trained_finite(cross_encoder_training):
    _, report = cross_encoder_training
    recommendation = report["recommendation"]
    assert recommendation["mode"] in ("amp", "bf16")
    assert "fp16=True" in recommendation["trainer_snippet"] or "bf16=True" in recommendation["trainer_snippet"]
    assert "optimizer" in recommendation["torch_snippet"]


def test_train_check_report_validates(cross_encoder_training):
    from precheck.data.schema import TRAIN_REPORT_SCHEMA

    _, report = cross_encoder_training
    jsonschema.validate(report, TRAIN_REPORT_SCHEMA)
    assert report["schema"] == "precheck.train/1"
    assert [m["mode"] for m in report["modes"]] == ["float32", "half", "amp", "bf16", "bf16-amp"]


@pytest.fixture(scope="module")
def bi_encoder(tmp_path_factory, training_rows_texts):
    """MiniLM's first two layers (its real weights) as a sentence-transformer, its vocabulary cut to the
    training rows' tokens (training_runs.train_check_model): a real bi-encoder to train."""
    from training_runs import train_check_model

    return train_check_model("sentence-transformer", tmp_path_factory.mktemp("bi-encoder") / "minilm-2",
                             training_rows_texts)


def test_train_check_bi_encoder_runs_and_reports(bi_encoder, training_file):
    run = invoke("train-check", bi_encoder, "--steps", "2", "--batch-size", "4", "--data", training_file,
                 "--mode", "amp", "--json", "-", "-q")
    report = run.json()
    assert report["model"]["kind"] == "sentence-transformer"
    assert run.exit_code == 0
    assert modes(report)["amp"]["trains_finite"] is True
    assert len(modes(report)["float32"]["losses"]) == 2


def test_train_check_unknown_mode_exits_2(plain_model):
    run = invoke("train-check", plain_model, "--mode", "fp8")
    assert run.exit_code == 2 and "unknown --mode" in run.stderr


def test_train_check_missing_data_exits_2(plain_model, tmp_path):
    run = invoke("train-check", plain_model, "--data", tmp_path / "none.csv")
    assert run.exit_code == 2 and "--data file not found" in run.stderr


def test_train_check_bad_label_exits_2(plain_model, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("q,p,yes\nq2,p2,no\n")
    run = invoke("train-check", plain_model, "--data", path)
    assert run.exit_code == 2 and "is not a number" in run.stderr


def test_train_check_names_the_attention_kernel_its_float32_run_trained_with(cross_encoder_training,
                                                                             train_check_cross_encoder):
    from sentence_transformers import CrossEncoder

    _, report = cross_encoder_training
    loaded = CrossEncoder(str(train_check_cross_encoder), device="cpu")
    assert report["model"]["attention"] == loaded.model.config._attn_implementation


def test_train_check_snippets_name_the_model_that_was_checked(cross_encoder_training, train_check_cross_encoder):
    _, report = cross_encoder_training
    recommendation = report["recommendation"]
    for snippet in (recommendation["trainer_snippet"], recommendation["torch_snippet"]):
        assert f"({str(train_check_cross_encoder)!r}" in snippet and "(name" not in snippet
