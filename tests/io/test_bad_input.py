"""Everything that stops precheck doing its job: exit 2, one line on stderr, no traceback."""
from __future__ import annotations

import json
import shutil

import pytest

from cli_checks import assert_one_line_error
from conftest import invoke


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


# --- file names and texts that are not UTF-8 (issue 32, item 7)


@pytest.fixture(scope="module")
def stray_name_model(tiny_model, tmp_path_factory):
    """The tiny model with one more file, named by bytes that are no UTF-8: an editor's backup, a download
    cut short. Nothing reads it, so a scan ignores it (the reference cache's key reads its name as bytes)."""
    import os

    folder = tmp_path_factory.mktemp("stray-name") / "model"
    shutil.copytree(tiny_model, folder)
    with open(os.path.join(os.fsencode(folder), b"\xff.bin"), "wb") as handle:
        handle.write(b"not a model file")
    return folder


def test_scan_of_a_folder_with_a_stray_file_named_in_no_utf8_just_works(stray_name_model, tiny_texts):
    for _ in range(2):  # the second scan meets the reference the first one cached
        run = invoke("scan", stray_name_model, "--texts", tiny_texts, "-d", "fp16", "--no-fix", "--json", "-", "-q")
        assert run.exit_code == 0, run.stderr
        assert run.json()["verdict"]["passed"]


def test_fix_copies_a_stray_file_named_in_no_utf8_as_it_is(stray_name_model, tiny_texts, tmp_path):
    import os

    out = tmp_path / "fixed"
    run = invoke("fix", stray_name_model, "--texts", tiny_texts, "-d", "fp16", "--out", out, "-q")
    assert run.exit_code == 0, run.stderr
    assert b"\xff.bin" in os.listdir(os.fsencode(out))


def test_precheck_scan_of_a_folder_with_a_stray_file_named_in_no_utf8_just_works(stray_name_model, tiny_texts):
    import precheck

    report = precheck.scan(str(stray_name_model), dtypes="fp16", texts_file=tiny_texts, fix=False)
    assert report.verdict.passed


@pytest.mark.parametrize("content, needle", [
    (b"hello\n\xff\xfe world\nthird\n", "not UTF-8 (invalid start byte at byte 6)"),
    (b'{"text": "hello \\ud800 x"}\n{"text": "two"}\n', "line 1: \"text\" holds '\\ud800', a lone UTF-16 surrogate"),
], ids=["bytes", "json-escaped-surrogate"])
def test_scan_texts_that_are_not_utf8_exit_2_in_one_line(tiny_model, tmp_path, content, needle):
    path = tmp_path / "texts.jsonl"
    path.write_bytes(content)
    assert_one_line_error(invoke("scan", tiny_model, "--texts", path, "--json", tmp_path / "r.json"), needle)
    assert not (tmp_path / "r.json").exists()


def test_precheck_scan_of_a_text_with_a_lone_surrogate_raises_one_line(tiny_model, tmp_path):
    import precheck

    path = tmp_path / "texts.jsonl"
    path.write_text('{"text": "ok"}\n\n{"text": "\\udcff"}\n', encoding="utf-8")
    with pytest.raises(precheck.PrecheckError, match="line 3: \"text\" holds"):
        precheck.scan(str(tiny_model), dtypes="fp16", texts_file=path)


# --- JSON Lines: a byte-order mark, malformed pairs


BOM = "\ufeff"


@pytest.mark.parametrize("name", ["texts.jsonl", "texts.txt"])
def test_scan_reads_json_lines_texts_after_a_byte_order_mark_as_json(tiny_model, tmp_path, name):
    texts = ["first text", "second\ntext", "third text"]
    path = tmp_path / name
    path.write_text(BOM + "".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    run = invoke("scan", tiny_model, "--texts", path, "-d", "fp16", "--no-fix", "--json", "-", "-q")
    assert run.exit_code == 0, run.stderr
    report = run.json()
    assert report["settings"]["probe_items"] == 3
    seen = {row["text"] for result in report["results"] for row in (result["per_item"] or {}).get("worst", [])}
    assert seen and seen <= set(texts)  # never the raw JSON as a plain-text probe


def test_read_texts_drops_a_byte_order_mark_before_a_plain_first_line(tmp_path):
    from precheck.kinds.texts import read_texts

    path = tmp_path / "texts.txt"
    path.write_bytes(b"\xef\xbb\xbfhello\nworld\n")
    assert read_texts(path) == ["hello", "world"]


def test_scan_of_a_text_file_whose_every_line_is_an_object_without_text_exits_2(tiny_model, tmp_path):
    path = tmp_path / "texts.txt"
    path.write_text('{"text": "a"}\n{"sentence": "b"}\n', encoding="utf-8")
    assert_one_line_error(invoke("scan", tiny_model, "--texts", path), "line 2: a JSON object with no \"text\"")


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory):
    from scale_models import build_tiny_cross_encoder

    return build_tiny_cross_encoder(tmp_path_factory.mktemp("bad-pairs") / "reranker")


PAIRS = [
    ('{"query": "q", "document": "d"}\n\n{"document": "d"}\n', "line 3: a JSON object with no \"query\""),
    ('{"query": "q", "document": "d"}\n{"query": "q"}\n', "line 2: no \"document\" (or \"passage\")"),
    ('{"query": "q", "document": "d"}\n{"query": "q", "document": "d", "passage": "p"}\n',
     "line 2: both \"document\" and \"passage\""),
    ('{"query": "q", "document": "d"}\n{"query": 7, "document": "d"}\n', "line 2: \"query\" is an integer"),
    ('{"query": "q", "document": ["d1", "d2"]}\n{"query": "q", "document": "d"}\n',
     "line 1: \"document\" is a list"),
    ('{"query": "q", "document": null}\n{"query": "q", "document": "d"}\n', "line 1: \"document\" is null"),
    ('["q", "d"]\n{"query": "q", "document": "d"}\n', "line 1 is not a JSON object"),
]


@pytest.mark.parametrize("content, needle", PAIRS, ids=["no-query", "no-document", "document-and-passage",
                                                        "number", "list", "null", "array"])
def test_scan_of_malformed_json_lines_pairs_exits_2_naming_the_line(tiny_cross_encoder, tmp_path, content, needle):
    path = tmp_path / "pairs.jsonl"
    path.write_text(BOM + content, encoding="utf-8")
    run = invoke("scan", tiny_cross_encoder, "--pairs", path, "--json", tmp_path / "r.json")
    assert_one_line_error(run, "--pairs", needle)
    assert not (tmp_path / "r.json").exists()


def test_scan_of_tsv_pairs_names_the_file_line_counting_blank_lines(tiny_cross_encoder, tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("q\tp\n\nq\tp\tx\n", encoding="utf-8")
    assert_one_line_error(invoke("scan", tiny_cross_encoder, "--pairs", path), "line 3 has 3 tab-separated fields")


def test_precheck_scan_of_malformed_pairs_raises_one_line(tiny_cross_encoder, tmp_path):
    import precheck

    path = tmp_path / "pairs.jsonl"
    path.write_text(PAIRS[3][0], encoding="utf-8")
    with pytest.raises(precheck.PrecheckError, match="line 2: \"query\" is an integer"):
        precheck.scan(str(tiny_cross_encoder), dtypes="fp16", pairs_file=path)


# --- flags: --max-memory (-q: tests/io/test_exit_without_teardown.py, a process of its own)


def test_scan_max_memory_naming_a_device_twice_exits_2(tiny_model, tmp_path):
    run = invoke("scan", tiny_model, "--max-memory", "cpu=1GiB,cpu=2GiB", "--json", tmp_path / "r.json")
    assert_one_line_error(run, "--max-memory names cpu twice")
    assert not (tmp_path / "r.json").exists()


def test_precheck_scan_max_memory_naming_a_device_twice_raises_one_line(tiny_model):
    import precheck

    with pytest.raises(precheck.PrecheckError, match="names cpu twice"):
        precheck.scan(str(tiny_model), max_memory="cpu=1GiB, CPU=2GiB")
