"""Everything that stops precheck doing its job: exit 2, one line on stderr, no traceback."""
from __future__ import annotations

import shutil

import pytest

from conftest import invoke


def _is_progress(line: str) -> bool:
    return line.startswith("precheck: ") and not line.startswith("precheck: error")


def assert_one_line_error(run, *needles: str) -> None:
    assert run.exit_code == 2
    # Progress lines may come first (stderr is not a terminal here); the error is one line.
    lines = [line for line in run.stderr.splitlines() if line.strip() and not _is_progress(line)]
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("precheck: error:")
    assert "Traceback" not in run.stderr
    for needle in needles:
        assert needle in lines[0]


def test_scan_missing_folder_exits_2():
    assert_one_line_error(invoke("scan", "./no/such/model"), "model not found")


def test_scan_uncached_hub_id_offline_names_id_offline_and_cache(hf_home):
    run = invoke("scan", "someone/never-downloaded")
    assert_one_line_error(run, "someone/never-downloaded", "HF_HUB_OFFLINE", str(hf_home))


def test_scan_folder_without_model_files_exits_2(tmp_path):
    assert_one_line_error(invoke("scan", tmp_path), "not a model folder")


def test_scan_file_instead_of_folder_exits_2(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"x")
    assert_one_line_error(invoke("scan", path), "is a file")


def test_scan_corrupt_weights_exits_2(tmp_path, plain_model):
    broken = tmp_path / "broken"
    shutil.copytree(plain_model, broken)
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    assert_one_line_error(invoke("scan", broken), "could not load")


def test_scan_remote_code_is_refused_without_the_flag(float32_in_forward_model):
    run = invoke("scan", float32_in_forward_model)
    assert_one_line_error(run, "--trust-remote-code", "fp32_bias.Float32Bias")


@pytest.mark.parametrize("dtype", ["fp8", "int3", "float32"])
def test_scan_unknown_dtype_exits_2(plain_model, dtype):
    assert_one_line_error(invoke("scan", plain_model, "--dtype", dtype), "unknown dtype")


def test_scan_unknown_option_exits_2(plain_model):
    assert_one_line_error(invoke("scan", plain_model, "--bogus"), "--bogus")


def test_scan_missing_model_argument_exits_2():
    assert_one_line_error(invoke("scan"), "Missing argument")


def test_scan_missing_texts_file_exits_2(plain_model, tmp_path):
    assert_one_line_error(invoke("scan", plain_model, "--texts", tmp_path / "none.txt"), "--texts file not found")


def test_scan_texts_file_with_one_text_exits_2(plain_model, tmp_path):
    path = tmp_path / "one.txt"
    path.write_text("only one\n")
    assert_one_line_error(invoke("scan", plain_model, "--texts", path), "at least 2")


def test_scan_min_cosine_out_of_range_exits_2(plain_model):
    assert_one_line_error(invoke("scan", plain_model, "--min-cosine", "1.5"), "--min-cosine")


def test_scan_existing_json_is_not_overwritten_without_force(plain_model, tmp_path):
    target = tmp_path / "report.json"
    target.write_text("mine")
    assert_one_line_error(invoke("scan", plain_model, "--json", target), "--force")
    assert target.read_text() == "mine"


def test_scan_unknown_device_exits_2(plain_model):
    assert_one_line_error(invoke("scan", plain_model, "--device", "tpu"), "unknown device")


def test_scan_cuda_without_a_gpu_exits_2(plain_model):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert_one_line_error(invoke("scan", plain_model, "--device", "cuda"), "no CUDA device")


def test_scan_debug_shows_the_traceback():
    run = invoke("scan", "./no/such/model", "--debug")
    assert run.exit_code == 2
    assert "Traceback" in run.stderr


def test_scan_unreachable_hub_exits_2_at_once_naming_the_id(monkeypatch):
    import huggingface_hub.constants as hub

    # Online mode, pointed at a port nothing listens on: no retries, one line.
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hub, "ENDPOINT", "http://127.0.0.1:9")
    run = invoke("scan", "someone/not-cached")
    assert_one_line_error(run, "cannot reach the Hugging Face hub", "someone/not-cached", "HF_HUB_OFFLINE=1")
