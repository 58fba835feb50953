"""A sentence-transformers StaticEmbedding model (static-retrieval-mrl-en-v1's shape: no transformer, no
window, a bare tokenizers.Tokenizer, an EmbeddingBag) scanned as a folder and as an object, in float16 and
bfloat16, and fixed: a real verdict, and never a traceback (issue 32, item 7)."""
from __future__ import annotations

import json

import pytest

import precheck
from cli_checks import assert_one_line_error
from conftest import invoke
from static_models import build_static_model, static_object

DTYPES = ("float16", "bfloat16")


@pytest.fixture(scope="session")
def static_model(tmp_path_factory):
    return build_static_model(tmp_path_factory.mktemp("static") / "static-mrl")


@pytest.fixture(scope="module")
def folder_scan(static_model):
    """The built-in probe set, its empty texts included."""
    run = invoke("scan", static_model, "-d", "fp16,bf16", "--json", "-", "--quiet")
    return run, run.json()


def test_static_folder_scan_gives_a_verdict_per_dtype_without_a_traceback(folder_scan):
    run, report = folder_scan
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    # torch_dtype does not reach a StaticEmbedding: that load stays float32, which is no float16 model.
    assert run.exit_code == 1
    assert [(v["dtype"], v["passed"]) for v in report["verdict"]["dtypes"]] == [(d, False) for d in DTYPES]
    assert all("reached none of the model's" in v["summary"] for v in report["verdict"]["dtypes"])


def test_static_folder_scan_names_the_module_torch_dtype_does_not_reach(folder_scan):
    _, report = folder_scan
    causes = {(d["dtype"], d["cause"], d["module"], d["module_class"]) for d in report["diagnoses"]
              if d["strategy"] == "load"}
    assert causes == {(dtype, "uncast-module", "0", "StaticEmbedding") for dtype in DTYPES}


def test_static_folder_scan_verifies_the_cast_as_the_bfloat16_fix(folder_scan):
    _, report = folder_scan
    cast = next(r for r in report["results"] if r["dtype"] == "bfloat16" and r["strategy"] == "cast")
    assert cast["status"] == "ok" and cast["min_cosine"] > 0.999
    fix = next(f for f in report["fixes"] if f["dtype"] == "bfloat16" and f["recommended"])
    assert (fix["strategy"], fix["verified"]) == ("cast", True)


def test_static_folder_float16_fix_keeps_normalize_not_the_table_the_load_missed(folder_scan):
    """The float16 cast turns the empty texts into NaN at Normalize: the keep-fp32 search starts there,
    not at the StaticEmbedding that torch_dtype did not reach."""
    _, report = folder_scan
    fix = next(f for f in report["fixes"] if f["dtype"] == "float16" and f["recommended"])
    assert (fix["strategy"], fix["keep_fp32"], fix["verified"]) == ("keep-fp32", ["1"], True)


def test_a_model_with_no_window_has_no_truncation(folder_scan):
    _, report = folder_scan
    assert report["truncation"] is None
    records = [w for r in report["results"] if r["per_item"] for w in r["per_item"]["worst"]]
    assert records and all(w["tokens"] > 0 and not w["truncated"] for w in records)
    assert not any("truncat" in note for note in report["notes"])


def test_max_seq_length_on_a_model_with_no_window_is_refused_in_one_line(static_model, probe_file):
    run = invoke("scan", static_model, "--texts", probe_file, "-d", "fp16", "--max-seq-length", "64", "--quiet")
    assert_one_line_error(run, "has no window to set")


def test_a_bare_tokenizer_from_another_model_is_refused(static_model, probe_file, tmp_path):
    """The tokenizer check reads a bare tokenizers.Tokenizer too: a vocabulary far smaller than the table."""
    import shutil

    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel

    folder = tmp_path / "static-wrong-tokenizer"
    shutil.copytree(static_model, folder)
    Tokenizer(WordLevel({"[UNK]": 0, "hello": 1}, unk_token="[UNK]")).save(str(folder / "tokenizer.json"))
    run = invoke("scan", folder, "--texts", probe_file, "-d", "fp16", "--quiet")
    assert_one_line_error(run, "cannot be the model's")


@pytest.fixture(scope="module")
def static_in_memory():
    return static_object()


@pytest.fixture(scope="module")
def object_scan(static_in_memory):
    return precheck.scan(static_in_memory, dtypes=["fp16", "bf16"], fix=False)


def test_static_object_scan_passes_bfloat16_with_the_builtin_texts(object_scan):
    bf16 = next(r for r in object_scan.results if r.dtype == "bfloat16" and r.strategy == "load")
    assert bf16.status == "ok" and bf16.min_cosine > 0.999
    assert object_scan.truncation is None


def test_static_object_scan_finds_float16_nan_on_empty_texts_at_normalize(object_scan):
    """An empty text embeds as zeros; Normalize's 1e-12 floor is 0 in float16, and 0/0 is NaN."""
    verdict = {v.dtype: v for v in object_scan.verdict.dtypes}
    assert (verdict["float16"].passed, verdict["float16"].status) == (False, "nonfinite")
    diagnosis = next(d for d in object_scan.diagnoses if d.dtype == "float16" and d.strategy == "load")
    assert (diagnosis.module, diagnosis.module_class) == ("1", "Normalize")
    from precheck.kinds.texts import builtin_texts

    texts = builtin_texts(None)  # the object's built-in probe set: a model with no window
    assert {texts[i].strip() for i in diagnosis.probe_items} == {""}


def test_static_object_fix_keeps_normalize_in_float32(static_in_memory):
    import torch

    fixed, plan = precheck.fix(static_in_memory, dtype="fp16")
    assert (plan.dtype, plan.strategy, plan.keep_fp32) == ("float16", "keep-fp32", ["1"])
    assert fixed[0].embedding.weight.dtype == torch.float16
    assert bool(torch.isfinite(torch.as_tensor(fixed.encode(["", "hello"]))).all())
    assert {p.dtype for p in static_in_memory.parameters()} == {torch.float32}


def test_static_folder_fix_writes_a_plan_that_loads_in_float16(static_model, probe_file, tmp_path):
    import torch

    out = tmp_path / "fixed"
    run = invoke("fix", static_model, "--texts", probe_file, "-d", "fp16", "--out", out, "--json", "-", "--quiet")
    assert run.exit_code == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert json.loads((out / "precheck.json").read_text(encoding="utf-8"))["strategy"] == "cast"
    model = precheck.load(str(out), dtype="fp16", device="cpu", scan=False)
    assert {p.dtype for p in model.parameters()} == {torch.float16}
