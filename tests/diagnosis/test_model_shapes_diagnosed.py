"""Diagnoses on shapes the suite had not built (issue 21): a culprit without parameters, a constant
that does not fit float16, drift inside the Transformer, ties float32 cannot separate, notes that
need a measured gap, and the serving rules of gemma-type models."""
from __future__ import annotations

import dataclasses

import pytest
import torch

import reference_models
from conftest import scan_json
from shape_models import LONG, TEXTS


@pytest.fixture(scope="module")
def texts_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("shape-texts") / "texts.txt"
    path.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    return path


def fixes(report: dict) -> dict[str, dict]:
    return {f["strategy"]: f for f in report["fixes"] if f["dtype"] == "float16"}


def load_diagnosis(report: dict) -> dict:
    return next(d for d in report["diagnoses"] if d["dtype"] == "float16" and d["strategy"] == "load")


# a culprit without parameters

@pytest.fixture(scope="module")
def pooling_scan(models_dir, texts_file):
    # MiniLM's first two layers: what overflows is the pooling after them.
    model = reference_models.build_parameter_free_overflow_model(models_dir / "minilm-input-dtype-pooling", layers=2)
    return scan_json(model, texts_file, "--trust-remote-code", "-d", "fp16")


def test_overflow_in_a_parameter_free_module_is_located_there(pooling_scan):
    run, report = pooling_scan
    assert run.exit_code == 1
    found = load_diagnosis(report)
    assert found["cause"] == "overflow"
    assert found["module"] == "1" and found["module_class"] == "InputDtypeMeanPooling"
    assert found["probe_items"] == [TEXTS.index(LONG)]
    assert "only the long inputs trigger it" in found["detail"]


def test_keep_fp32_plan_keeps_a_parameter_free_module_at_no_parameter_cost(pooling_scan):
    _, report = pooling_scan
    keep = fixes(report)["keep-fp32"]
    assert keep["verified"] and keep["recommended"]
    assert keep["keep_fp32"] == ["1"] and keep["fp32_param_share"] == 0.0
    assert "1 (InputDtypeMeanPooling)" in keep["detail"]


# a constant that does not fit

@pytest.fixture(scope="module")
def constant_scan(models_dir, texts_file):
    model = reference_models.build_remote_variant(models_dir / "tiny-constant-mask",
                                                  reference_models.CONSTANT_MASK_SOURCE)
    return scan_json(model, texts_file, "--trust-remote-code", "-d", "fp16")


def test_constant_outside_float16_is_its_own_cause(constant_scan):
    run, report = constant_scan
    assert run.exit_code == 1
    found = load_diagnosis(report)
    assert found["cause"] == "constant-out-of-range"
    assert found["module_class"] == "Layer"
    assert "bfloat16" in found["detail"] and "keeping this block in float32" in found["detail"]


def test_constant_outside_float16_is_fixed_by_bf16_or_keeping_its_blocks(constant_scan):
    _, report = constant_scan
    found = fixes(report)
    assert found["bf16"]["verified"] and found["keep-fp32"]["verified"]
    assert all(".layer." in path for path in found["keep-fp32"]["keep_fp32"])


# ties

def test_top1_agreement_treats_neighbours_float32_cannot_separate_as_ties():
    from precheck.compare.dense import top1_agreement

    # "" and "   ": one input, whose two float32 embeddings differ only by batch noise (~1e-8).
    empty = torch.tensor([1.0, 0.2, 0.0], dtype=torch.float64)
    spaces = empty + torch.tensor([0.0, 0.0, 3e-5], dtype=torch.float64)
    query = torch.tensor([1.0, 0.21, 0.01], dtype=torch.float64)
    far = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
    reference = torch.stack([empty, spaces, query, far])
    candidate = reference.clone()
    candidate[2] = query + torch.tensor([0.0, 0.0, -2e-3], dtype=torch.float64)  # now nearer to "" than "   "
    unit = torch.nn.functional.normalize(reference, dim=1)
    gap = float((unit[2] @ unit[1]) - (unit[2] @ unit[0]))
    assert 1e-9 < gap < 1e-6  # a difference the old 1e-9 tolerance counted as a swap
    assert top1_agreement(reference, candidate) == 1.0


def test_top1_agreement_still_counts_a_real_neighbour_swap():
    from precheck.compare.dense import top1_agreement

    reference = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.95, 0.31], [0.0, 1.0]], dtype=torch.float64)
    candidate = reference.clone()
    candidate[2] = torch.tensor([0.85, 0.53], dtype=torch.float64)  # nearest: item 1 instead of item 0
    assert top1_agreement(reference, candidate) < 1.0


# notes say only what was measured

def _result(status="ok", min_cosine=0.999, mean_cosine=0.9995):
    from precheck.data.report import ProbeResult

    return ProbeResult("bfloat16", "load", status, min_cosine=min_cosine, mean_cosine=mean_cosine)


def test_cast_is_not_called_worse_on_a_gap_float32_noise_makes():
    from precheck.kinds import Embedder
    from precheck.loading.defaults import _compare

    load = _result(min_cosine=0.9999990, mean_cosine=0.9999995)
    cast = dataclasses.replace(load, strategy="cast", min_cosine=0.9999990 - 6.5e-7)
    assert _compare(Embedder(), load, cast) == 0


def test_cast_is_not_called_worse_when_the_mean_says_the_opposite():
    from precheck.kinds import Embedder
    from precheck.loading.defaults import _compare

    load = _result(min_cosine=0.9990, mean_cosine=0.9995)
    cast = dataclasses.replace(load, strategy="cast", min_cosine=0.9980, mean_cosine=0.9997)
    assert _compare(Embedder(), load, cast) == 0
    assert _compare(Embedder(), load, dataclasses.replace(cast, mean_cosine=0.9990)) == -1


# serving rules by model type

@pytest.mark.parametrize("model_type", ["gemma2", "gemma3_text"])
def test_serving_vllm_is_never_advised_float16_for_a_type_it_refuses(models_dir, probe_file, model_type):
    model = reference_models.build_gemma_model(models_dir / f"tiny-{model_type}", model_type)
    run, report = scan_json(model, probe_file, "-d", "fp16", "-d", "bf16", "--no-fix")
    assert report["model"]["model_type"] == model_type
    advice = {a["server"]: a for a in report["serving"]}
    bf16_passed = next(v for v in report["verdict"]["dtypes"] if v["dtype"] == "bfloat16")["passed"]
    assert advice["vllm"]["dtype"] == ("bfloat16" if bf16_passed else "float32")
    assert f"vLLM refuses float16 for {model_type} models" in advice["vllm"]["note"]


def test_serving_text_embeddings_inference_is_advised_float32_for_gemma3_text(models_dir, probe_file):
    # Its candle backend refuses any other dtype for this type, whatever the scan verified.
    model = reference_models.build_gemma_model(models_dir / "tiny-gemma3_text-tei", "gemma3_text")
    run, report = scan_json(model, probe_file, "-d", "fp16", "--no-fix")
    advice = {a["server"]: a for a in report["serving"]}
    assert advice["text-embeddings-inference"]["dtype"] == "float32"
    assert "starts gemma3_text models in float32 only" in advice["text-embeddings-inference"]["note"]
