"""A float32 reference you can trust (issue 21): buffers transformers 5 leaves uninitialised are
named and repaired, everywhere the model is loaded; errors of the model's own code are named."""
from __future__ import annotations

import json

import jsonschema
import pytest
import torch

import reference_models
from cli_checks import assert_one_line_error
from conftest import invoke, scan_json
from precheck.data.schema import REPORT_SCHEMA

TEXTS = ["hello world", "The quick brown fox jumps over the lazy dog.", "How do I reset my password?",
         "the the the"]


@pytest.fixture(scope="module")
def texts_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("reference-texts") / "texts.txt"
    path.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def rotary_model(models_dir):
    return reference_models.build_rotary_remote_code_model(models_dir / "tiny-rotary-remote")


@pytest.fixture(scope="module")
def rotary_scan(rotary_model, texts_file):
    return scan_json(rotary_model, texts_file, "--trust-remote-code", "-d", "fp16", "--no-fix")


def test_scan_names_buffers_transformers_5_left_uninitialised(rotary_scan):
    import transformers

    run, report = rotary_scan
    buffers = report["reference"]["buffers"]
    assert buffers["status"] == "repaired" and buffers["cause"] == "uninitialised-buffers"
    assert [p.rsplit(".", 3)[-3:] for p in buffers["repaired_buffers"]] == [["encoder", "rotary", "inv_freq"]]
    assert f"transformers {transformers.__version__}" in buffers["detail"]
    assert any("uninitialised-buffers" in note for note in report["notes"])
    jsonschema.validate(report, REPORT_SCHEMA)


def test_scan_verifies_the_repaired_reference_and_compares_against_it(rotary_scan):
    run, report = rotary_scan
    assert run.exit_code == 0
    assert "a second load so repaired gives the same float32 outputs" in report["reference"]["buffers"]["detail"]


def test_scan_repair_snippet_copies_each_buffer_from_a_fresh_instance(rotary_scan):
    _, report = rotary_scan
    snippet = report["reference"]["buffers"]["snippet"]
    assert "fresh = type(owner)(owner.config)" in snippet and "copy_(fresh.get_buffer(name))" in snippet
    assert "inv_freq" in snippet


def test_scan_healthy_model_buffers_match_a_fresh_instance(plain_scan):
    _, report = plain_scan
    assert report["reference"]["buffers"]["status"] in ("ok", "none")
    assert report["reference"]["buffers"]["repaired_buffers"] == []


def test_load_applies_the_same_repair(rotary_model, texts_file):
    import precheck

    model = precheck.load(str(rotary_model), dtype="fp16", device="cpu", trust_remote_code=True,
                          texts_file=texts_file, fix=False)
    inv_freq = next(b for name, b in model.named_buffers() if name.endswith("rotary.inv_freq"))
    expected = 1.0 / (10000.0 ** (torch.arange(0, 32, 2).float() / 32))
    assert torch.allclose(inv_freq.float(), expected, rtol=1e-3)


def test_fix_writes_the_repair_into_precheck_json(rotary_model, texts_file, tmp_path):
    out = tmp_path / "fixed"
    run = invoke("fix", rotary_model, "--texts", texts_file, "--trust-remote-code", "-d", "fp16", "--out", out,
                 "--quiet")
    assert run.exit_code == 0, run.stderr
    plan = json.loads((out / "precheck.json").read_text())
    assert [name for names in plan["repair_buffers"].values() for name in names] == ["encoder.rotary.inv_freq"]


def test_scan_reference_that_differs_on_every_build_exits_2(models_dir, texts_file):
    model = reference_models.build_remote_variant(models_dir / "tiny-random-buffer",
                                                  reference_models.RANDOM_BUFFER_SOURCE)
    run = invoke("scan", model, "--texts", texts_file, "--trust-remote-code", "-d", "fp16", "--no-fix")
    assert_one_line_error(run, "not reproducible", "jitter")


# errors of the model's own code


def test_scan_names_a_transformers_4_method_the_model_code_calls(models_dir, texts_file):
    model = reference_models.build_remote_variant(models_dir / "tiny-old-api", reference_models.OLD_API_SOURCE)
    run = invoke("scan", model, "--texts", texts_file, "--trust-remote-code", "-d", "fp16", "--no-fix")
    assert_one_line_error(run, "get_extended_attention_mask",
                          f"modeling_tinyrope.py, line {reference_models.OLD_API_LINE}", "older transformers")
    assert "weights complete" not in run.stderr


def test_scan_names_an_optional_package_and_the_config_switch(models_dir, texts_file):
    model = reference_models.build_remote_variant(models_dir / "tiny-xformers", reference_models.XFORMERS_SOURCE,
                                                  extra_feature=True)
    run = invoke("scan", model, "--texts", texts_file, "--trust-remote-code", "-d", "fp16", "--no-fix")
    assert_one_line_error(run, "optional package xformers", "--config-kwarg extra_feature=false")
    assert "weights complete" not in run.stderr
