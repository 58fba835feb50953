"""Load options on sentence-transformers 3.0.1: passed under the names that release takes, and one
line naming the release when its class does not take one (3.0.1's CrossEncoder has no config_kwargs)."""
from __future__ import annotations

import pytest

import load_option_models
import scale_models
from cli_checks import assert_one_line_error
from conftest import invoke, scan_json


@pytest.fixture(scope="module")
def mpnet_model(tmp_path_factory):
    return load_option_models.build_tiny_mpnet(tmp_path_factory.mktemp("st3-load") / "tiny-mpnet")


@pytest.fixture(scope="module")
def cross_encoder(tmp_path_factory):
    return scale_models.build_tiny_cross_encoder(tmp_path_factory.mktemp("st3-load") / "tiny-reranker")


def test_st3_config_and_tokenizer_kwargs_reach_a_sentence_transformer(mpnet_model, probe_file):
    run, report = scan_json(mpnet_model, probe_file, "-d", "fp16", "--no-fix", "--depth", "6", "--truncate-dim", "16",
                            "--config-kwarg", "num_hidden_layers=1", "--tokenizer-kwarg", "model_max_length=64")
    assert run.exit_code in (0, 1), run.stderr
    assert not any(row["path"].endswith("encoder.layer.1") for row in report["modules"]["float32"])
    assert report["reference"]["dimension"] == 16


def test_st3_cross_encoder_without_config_kwargs_is_one_line_naming_the_release(cross_encoder, pairs_file):
    run = invoke("scan", cross_encoder, "--pairs", pairs_file, "--no-fix", "--config-kwarg", "a=1")
    assert_one_line_error(run, "--config-kwarg (config_kwargs) is not supported by CrossEncoder",
                          "sentence-transformers 3.0.1")


def test_st3_cross_encoder_without_prompts_is_one_line(cross_encoder, pairs_file):
    run = invoke("scan", cross_encoder, "--pairs", pairs_file, "--no-fix", "--prompt", "q: ")
    assert_one_line_error(run, "--prompt (prompt) is not supported by CrossEncoder")
