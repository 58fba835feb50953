"""Issue 21's shapes on sentence-transformers 3.0.1 + transformers 4.44.2: the rotary remote-code
model is healthy there, and the new diagnoses and serving rules hold on the old stack too."""
from __future__ import annotations

import pytest

import reference_models
from conftest import invoke, scan_json
from shape_models import LONG, TEXTS


@pytest.fixture(scope="module")
def texts_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("st3-shape-texts") / "texts.txt"
    path.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    return path


def test_st3_rotary_remote_code_reference_is_healthy(models_dir, texts_file):
    model = reference_models.build_rotary_remote_code_model(models_dir / "st3-tiny-rotary")
    run, report = scan_json(model, texts_file, "--trust-remote-code", "-d", "fp16", "--no-fix")
    assert run.exit_code == 0
    assert report["reference"]["buffers"]["status"] == "ok"
    assert report["reference"]["buffers"]["repaired_buffers"] == []


def test_st3_optional_package_is_named(models_dir, texts_file):
    model = reference_models.build_remote_variant(models_dir / "st3-tiny-xformers", reference_models.XFORMERS_SOURCE,
                                                  extra_feature=True)
    run = invoke("scan", model, "--texts", texts_file, "--trust-remote-code", "-d", "fp16", "--no-fix")
    assert run.exit_code == 2
    assert "optional package xformers" in run.stderr and "weights complete" not in run.stderr


def test_st3_parameter_free_overflow_is_located_and_kept(models_dir, texts_file):
    model = reference_models.build_parameter_free_overflow_model(models_dir / "st3-input-dtype-pooling",
                                                                 native_pooling=True)
    run, report = scan_json(model, texts_file, "-d", "fp16")
    found = next(d for d in report["diagnoses"] if d["strategy"] == "load")
    assert (found["cause"], found["module"], found["probe_items"]) == ("overflow", "1", [TEXTS.index(LONG)])
    assert found["module_class"] == "Pooling"
    keep = next(f for f in report["fixes"] if f["strategy"] == "keep-fp32")
    assert keep["verified"] and keep["keep_fp32"] == ["1"] and keep["fp32_param_share"] == 0.0


def test_st3_constant_outside_float16_is_its_own_cause(models_dir, texts_file):
    model = reference_models.build_remote_variant(models_dir / "st3-tiny-constant-mask",
                                                  reference_models.CONSTANT_MASK_SOURCE)
    run, report = scan_json(model, texts_file, "--trust-remote-code", "-d", "fp16", "--no-fix")
    assert next(d for d in report["diagnoses"] if d["strategy"] == "load")["cause"] == "constant-out-of-range"


def test_st3_serving_vllm_refuses_float16_for_gemma2(models_dir, probe_file):
    model = reference_models.build_gemma_model(models_dir / "st3-tiny-gemma2", "gemma2")
    _, report = scan_json(model, probe_file, "-d", "fp16", "-d", "bf16", "--no-fix")
    vllm = next(a for a in report["serving"] if a["server"] == "vllm")
    assert vllm["dtype"] != "float16" and report["model"]["model_type"] == "gemma2"


def test_st3_serving_uncast_dense_gets_the_dtype_the_cast_verified(dense_model, probe_file):
    _, report = scan_json(dense_model, probe_file, "-d", "fp16", "--no-fix")
    assert next(d for d in report["diagnoses"] if d["strategy"] == "load")["cause"] == "uncast-module"
    assert {a["dtype"] for a in report["serving"]} == {"float16"}
    assert all("as a server loads it" in a["note"] for a in report["serving"])


def test_st3_a_reranker_whose_checkpoint_lacks_its_head_exits_2_naming_the_head(models_dir, pairs_file):
    from cli_checks import assert_one_line_error

    model = reference_models.build_headless_cross_encoder(models_dir / "st3-headless-reranker")
    run = invoke("scan", model, "--pairs", pairs_file, "-d", "bf16", "--no-fix")
    assert_one_line_error(run, "the float32 reference changes from one load to the next", "classifier.weight")
