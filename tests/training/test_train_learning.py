"""train-check judges learning against float32, not only finiteness; bf16-amp joins the modes (issue 14)."""
from __future__ import annotations

import pytest

from conftest import invoke

STEPS = ["--steps", "4", "--batch-size", "4"]


@pytest.fixture(scope="module")
def strict_training(train_check_cross_encoder, training_file):
    """A loss-ratio limit no low-precision run can meet (on train_check_cross_encoder): finite modes must
    come out `diverges`."""
    run = invoke("train-check", train_check_cross_encoder, *STEPS, "--data", training_file, "--mode", "bf16",
                 "--max-loss-ratio", "1.0", "--min-loss-drop", "1.0", "--json", "-", "-q")
    return run, {m["mode"]: m for m in run.json()["modes"]}, run.json()


def test_train_check_bf16_amp_runs_with_float32_weights_and_bfloat16_compute(strict_training):
    _, modes, _ = strict_training
    mode = modes["bf16-amp"]
    assert (mode["weights_dtype"], mode["compute_dtype"]) == ("float32", "bfloat16")
    assert mode["trains_finite"] is True and mode["skipped_steps"] == 0


def test_train_check_finite_mode_short_of_float32_diverges_and_exits_1(strict_training):
    run, modes, report = strict_training
    assert modes["bf16"]["trains_finite"] is True
    assert modes["bf16"]["status"] == "diverges" and modes["bf16"]["shortfall"]
    assert run.exit_code == 1
    assert "does not learn as float32 does" in report["verdict"]["summary"]


def test_train_check_reports_learning_figures_against_float32(strict_training):
    _, modes, report = strict_training
    assert modes["float32"]["status"] == "reference"
    assert modes["half"]["status"] == "nonfinite"
    for name in ("amp", "bf16", "bf16-amp"):
        assert modes[name]["loss_ratio_vs_float32"] is not None and modes[name]["final_loss"] is not None
    assert report["settings"]["max_loss_ratio"] == 1.0


def test_train_check_default_thresholds_pass_bf16_amp(cross_encoder_training_run):
    from precheck.training.modes import TrainOptions

    # The session's run (half asked) judges every mode by the default thresholds.
    report, defaults = cross_encoder_training_run.report, TrainOptions(model="")
    assert [report["settings"][k] for k in ("max_loss_ratio", "min_loss_drop", "min_spearman")] == \
        [defaults.max_loss_ratio, defaults.min_loss_drop, defaults.min_spearman]
    assert {m["mode"]: m for m in report["modes"]}["bf16-amp"]["status"] == "ok"


def test_recommendation_prefers_bf16_amp_to_bf16_when_both_learn():
    from precheck.training.check import recommend
    from precheck.data.training import ModeResult

    modes = [ModeResult("float32", "float32", "float32", status="reference"),
             ModeResult("half", "float16", "float16", status="nonfinite"),
             ModeResult("amp", "float32", "float16", status="error"),
             ModeResult("bf16", "bfloat16", "bfloat16", status="ok"),
             ModeResult("bf16-amp", "float32", "bfloat16", status="ok")]
    recommendation = recommend(modes, "cross-encoder", "cpu", "half")
    assert recommendation.mode == "bf16-amp" and "bf16=True" in recommendation.trainer_snippet


def test_train_check_threshold_out_of_range_exits_2(plain_model):
    run = invoke("train-check", plain_model, "--max-loss-ratio", "0.5")
    assert run.exit_code == 2 and "--max-loss-ratio" in run.stderr
