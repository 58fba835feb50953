"""--texts and --pairs in JSON Lines beside the plain formats: texts no line-per-text file can hold (issue 27)."""
from __future__ import annotations

import json

import pytest

from conftest import invoke


@pytest.fixture(scope="module")
def tiny_reranker(tmp_path_factory):
    from scale_models import build_tiny_cross_encoder

    return build_tiny_cross_encoder(tmp_path_factory.mktemp("probe-files") / "reranker")


def _jsonl(path, objects):
    path.write_text("".join(json.dumps(o) + "\n" for o in objects), encoding="utf-8")
    return path


def test_scan_reads_jsonl_texts_with_a_multi_line_text_and_an_empty_string(tiny_model, tmp_path):
    texts = ["first line\nsecond line", "", "hello world"]
    path = _jsonl(tmp_path / "texts.jsonl", [{"text": t} for t in texts])
    run = invoke("scan", tiny_model, "--texts", path, "-d", "fp16", "--no-fix", "--json", "-", "-q")
    assert run.exit_code in (0, 1), run.stderr
    report = run.json()
    assert report["settings"]["probe_items"] == 3
    shown = {w["text"] for r in report["results"] if r["per_item"] for w in r["per_item"]["worst"]}
    assert shown == set(texts)


def test_scan_reads_json_lines_without_the_suffix_when_every_line_is_a_text_object(tiny_model, tmp_path):
    path = _jsonl(tmp_path / "texts.txt", [{"text": "a\nb"}, {"text": ""}])
    run = invoke("scan", tiny_model, "--texts", path, "-d", "fp16", "--no-fix", "--json", "-", "-q")
    assert run.json()["settings"]["probe_items"] == 2


def test_scan_keeps_a_plain_line_that_looks_like_json_a_text(tiny_model, tmp_path):
    path = tmp_path / "texts.txt"
    path.write_text('{"key": [1, 2, 3]}\nhello world\n', encoding="utf-8")
    run = invoke("scan", tiny_model, "--texts", path, "-d", "fp16", "--no-fix", "--json", "-", "-q")
    assert run.json()["settings"]["probe_items"] == 2


def test_scan_jsonl_texts_line_that_is_no_object_exits_2(tiny_model, tmp_path):
    path = tmp_path / "texts.jsonl"
    path.write_text('{"text": "a"}\n\nnot json\n', encoding="utf-8")
    run = invoke("scan", tiny_model, "--texts", path)
    assert run.exit_code == 2
    assert "line 3 is not a JSON object" in run.stderr and "Traceback" not in run.stderr


def test_scan_reads_jsonl_pairs_with_document_for_a_cross_encoder(tiny_reranker, tmp_path):
    pairs = [("reset password?", "Click 'Forgot password'.\nThen follow the link."), ("reset password?", ""),
             ("capital of Japan?", "Tokyo."), ("capital of Japan?", "Bananas.")]
    path = _jsonl(tmp_path / "pairs.jsonl", [{"query": q, "document": d} for q, d in pairs])
    run = invoke("scan", tiny_reranker, "--pairs", path, "-d", "bf16", "--no-fix", "--json", "-", "-q")
    assert run.exit_code in (0, 1), run.stderr
    report = run.json()
    assert report["settings"]["probe_items"] == 4
    worst = report["results"][0]["per_item"]["worst"]
    assert report["results"][0]["per_item"]["figure"] == "score_diff"
    assert {(w["text"], w["document"]) for w in worst} == set(pairs)
