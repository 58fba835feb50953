"""The original bug, on the stack where it was reported: sentence-transformers 3.0.1 +
transformers 4.44.2 cast only the Transformer module, so a Dense layer stays float32."""
from __future__ import annotations

import pytest

from conftest import scan_json


@pytest.fixture(scope="module")
def dense_scan(dense_fp16):
    exit_code, _, report = dense_fp16
    return exit_code, report


def test_st3_stack_is_the_one_under_test():
    import sentence_transformers
    import transformers

    assert sentence_transformers.__version__ == "3.0.1"
    assert transformers.__version__ == "4.44.2"


def test_st3_dense_model_fails_fp16_load_with_same_dtype_error(dense_scan):
    exit_code, report = dense_scan
    assert exit_code == 1
    load = next(r for r in report["results"] if r["strategy"] == "load")
    assert load["status"] == "error"
    assert "must have the same dtype" in load["error"]["message"]


def test_st3_dense_model_passes_fp16_cast(dense_scan):
    _, report = dense_scan
    cast = next(r for r in report["results"] if r["strategy"] == "cast")
    assert cast["status"] == "ok"


def test_st3_dense_module_is_flagged_in_the_table(dense_scan):
    _, report = dense_scan
    rows = {r["cls"]: r for r in report["modules"]["float16"]}
    assert rows["Dense"]["flagged"] is True
    assert rows["Dense"]["param_dtypes"] == {"float32": rows["Dense"]["params"]}
    assert rows["Transformer"]["flagged"] is False


def test_st3_dense_failure_is_diagnosed_as_uncast_module_naming_the_dense(dense_scan):
    _, report = dense_scan
    found = next(d for d in report["diagnoses"] if d["dtype"] == "float16" and d["strategy"] == "load")
    assert found["cause"] == "uncast-module"
    assert found["module"] == "2"
    assert found["module_class"] == "Dense"
    assert found["param_dtypes"] == ["float32"]


def test_st3_dense_recommended_fix_is_a_verified_cast(dense_scan):
    _, report = dense_scan
    recommended = [f for f in report["fixes"] if f["recommended"]]
    assert [(f["strategy"], f["verified"]) for f in recommended] == [("cast", True)]
    assert ".to(torch.float16)" in recommended[0]["snippet"]


def test_st3_cross_encoder_fp16_scores_collapsing_into_ties_is_drift(cross_encoder_model, pairs_file):
    from conftest import invoke

    # sentence-transformers 3.x CrossEncoder (not an nn.Module, automodel_args) returns the
    # sigmoid computed in float16: distinct scores near 0.5 round to the same value, which
    # the rank correlation sees even though every score is within 3e-4 of float32.
    run = invoke("scan", cross_encoder_model, "--pairs", pairs_file, "-d", "fp16", "--no-fix", "--json", "-", "-q")
    report = run.json()
    assert report["model"]["kind"] == "cross-encoder"
    assert run.exit_code == 1
    load = next(r for r in report["results"] if r["strategy"] == "load")
    assert load["status"] == "drift"
    assert load["spearman"] < 0.99 and load["max_abs_diff"] < 1e-3
    found = next(d for d in report["diagnoses"] if d["strategy"] == "load")
    assert found["cause"] == "drift"
    assert "scores collapse into ties: 8 distinct scores in float32" in found["detail"]


def test_st3_overflow_keep_fp32_plan_is_found_and_verified(overflow_model, probe_file):
    _, report = scan_json(overflow_model, probe_file, "-d", "fp16")
    plan = next(f for f in report["fixes"] if f["strategy"] == "keep-fp32")
    assert plan["verified"] is True and plan["recommended"] is True
    assert all(".auto_model.encoder.layer." in path for path in plan["keep_fp32"])
    assert plan["fp32_param_share"] < 0.15


def test_st3_cross_encoder_bf16_scores_fail_on_the_way_to_numpy(cross_encoder_model, pairs_file):
    from conftest import invoke

    # Failure mode 6: NumPy has no bfloat16, and this release's predict() calls .numpy() on it.
    run = invoke("scan", cross_encoder_model, "--pairs", pairs_file, "-d", "bf16", "--no-fix", "--json", "-", "-q")
    load = next(r for r in run.json()["results"] if r["strategy"] == "load")
    assert run.exit_code == 1
    assert load["status"] == "error"
    assert load["error"]["type"] == "TypeError" and "BFloat16" in load["error"]["message"]
    found = next(d for d in run.json()["diagnoses"] if d["strategy"] == "load")
    assert found["module"] == "" and "raised outside every module" in found["detail"]
