"""The float32 reference kept between runs (engine/reference_cache.py), precheck.load's scan in the open,
and fix's weights written in the plan's dtype. All on the tiny model, the cache in a temp folder."""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from conftest import invoke


@pytest.fixture()
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("PRECHECK_CACHE", str(folder))
    monkeypatch.delenv("PRECHECK_NO_CACHE", raising=False)
    return folder


@pytest.fixture(scope="module")
def tiny_copy(tiny_model, tmp_path_factory) -> Path:
    """The tiny model in a folder of this module's own, so that a change to its files touches no other test."""
    import shutil

    folder = tmp_path_factory.mktemp("cached") / "tiny"
    shutil.copytree(tiny_model, folder)
    return folder


def scan(model, texts, *extra):
    run = invoke("scan", model, "--texts", texts, "--device", "cpu", "-d", "fp16", "--no-fix", "--json", "-", "-q",
                 *extra)
    assert run.exit_code == 0, run.stderr
    return run.json()


def entries(cache: Path) -> list[Path]:
    return sorted((cache / "references").glob("[!.]*")) if (cache / "references").is_dir() else []


def test_scan_reuses_a_cached_reference_and_says_so(cache, tiny_copy, tiny_texts):
    first = scan(tiny_copy, tiny_texts)
    second = scan(tiny_copy, tiny_texts)
    assert first["reference"]["cached"] is False and second["reference"]["cached"] is True
    assert any("reused from the cache" in note and str(cache) in note for note in second["notes"])
    assert len(entries(cache)) == 1
    # The report is the same but for where the reference came from.
    for key in ("modules", "headroom", "truncation"):
        assert second[key] == first[key]
    assert [r["per_item"] for r in second["results"]] == [r["per_item"] for r in first["results"]]
    assert [r["min_cosine"] for r in second["results"]] == [r["min_cosine"] for r in first["results"]]


def test_no_cache_flag_and_environment_compute_the_reference_again(cache, tiny_copy, tiny_texts, monkeypatch):
    scan(tiny_copy, tiny_texts)
    assert scan(tiny_copy, tiny_texts, "--no-cache")["reference"]["cached"] is False
    monkeypatch.setenv("PRECHECK_NO_CACHE", "1")
    assert scan(tiny_copy, tiny_texts)["reference"]["cached"] is False


def test_a_corrupt_cache_entry_is_recomputed_with_a_note(cache, tiny_copy, tiny_texts):
    scan(tiny_copy, tiny_texts)
    (entry,) = entries(cache)
    (entry / "outputs.safetensors").write_bytes(b"not a tensor file")
    report = scan(tiny_copy, tiny_texts)
    assert report["reference"]["cached"] is False
    assert any("was not used" in note for note in report["notes"])
    assert scan(tiny_copy, tiny_texts)["reference"]["cached"] is True  # rewritten whole
    (entry,) = entries(cache)
    meta = json.loads((entry / "reference.json").read_text())
    meta["modules"] = [{"not": "a module row"}]
    (entry / "reference.json").write_text(json.dumps(meta))
    report = scan(tiny_copy, tiny_texts)
    assert report["reference"]["cached"] is False and any("malformed: modules[0]" in note for note in report["notes"])


def test_a_cache_entry_whose_outputs_were_altered_is_not_trusted(cache, tiny_copy, tiny_texts):
    from safetensors.torch import load_file, save_file

    scan(tiny_copy, tiny_texts)
    (entry,) = entries(cache)
    outputs = load_file(str(entry / "outputs.safetensors"))["outputs"]
    save_file({"outputs": outputs + 1}, str(entry / "outputs.safetensors"))
    report = scan(tiny_copy, tiny_texts)
    assert report["reference"]["cached"] is False
    assert any("digest" in note for note in report["notes"])


def test_another_probe_set_or_changed_model_files_miss_the_cache(cache, tiny_copy, tiny_texts, tmp_path):
    scan(tiny_copy, tiny_texts)
    other = tmp_path / "other.txt"
    other.write_text("a different text\nand another one\n", encoding="utf-8")
    assert scan(tiny_copy, other)["reference"]["cached"] is False
    config = tiny_copy / "config_sentence_transformers.json"
    data = json.loads(config.read_text())
    config.write_text(json.dumps({**data, "note": "edited"}))
    assert scan(tiny_copy, tiny_texts)["reference"]["cached"] is False


def test_cache_folder_follows_hf_home_when_precheck_cache_is_unset(monkeypatch, tmp_path):
    from precheck.engine.reference_cache import cache_folder

    monkeypatch.delenv("PRECHECK_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert cache_folder() == tmp_path / "hf" / "precheck"
    monkeypatch.delenv("HF_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_folder() == tmp_path / "xdg" / "huggingface" / "precheck"


def test_load_without_a_plan_logs_its_scan_and_refuses_with_scan_false(cache, tiny_copy, tiny_texts, caplog):
    import precheck

    with pytest.raises(precheck.PrecheckError, match="scan=False"):
        precheck.load(str(tiny_copy), dtype="fp16", device="cpu", scan=False, texts_file=tiny_texts)
    with caplog.at_level(logging.WARNING, logger="precheck"):
        model = precheck.load(str(tiny_copy), dtype="fp16", device="cpu", texts_file=tiny_texts)
    assert model is not None
    said = [r.getMessage() for r in caplog.records if r.name == "precheck"]
    assert any("scanning for a float16 plan" in line for line in said)
    assert any("took" in line and " s " in line for line in said)


def test_fix_writes_float16_weights_for_a_load_plan_and_records_the_absolute_source(cache, tiny_copy, tiny_texts,
                                                                                     tmp_path):
    from safetensors import safe_open

    out = tmp_path / "fixed"
    run = invoke("fix", tiny_copy, "--dtype", "fp16", "--out", out, "--texts", tiny_texts, "--device", "cpu", "-q",
                 "--json", "-")
    assert run.exit_code == 0, run.stderr
    plan = json.loads((out / "precheck.json").read_text())
    assert plan["strategy"] == "load" and plan["weights_dtype"] == "float16"
    assert plan["source"] == str(tiny_copy.resolve()) and os.path.isabs(plan["source"])
    with safe_open(str(out / "model.safetensors"), "pt") as weights:
        dtypes = {str(weights.get_slice(name).get_dtype()) for name in weights.keys()}
    assert dtypes == {"F16"} or dtypes == {"F16", "I64"}
    assert (out / "model.safetensors").stat().st_size < 0.6 * (tiny_copy / "model.safetensors").stat().st_size
    # The reload's weights are the scan's float16 run's bit for bit: its figures, without a second encode.
    assert run.json()["check"]["status"] == "ok" and run.json()["check"]["same_as"] == "load"


def test_fix_provenance_names_a_cached_hub_model_by_its_id_and_snapshot_revision(tmp_path):
    from types import SimpleNamespace

    from precheck.loading.resolve import ResolvedModel
    from precheck.workflow.fix import provenance

    snapshot = tmp_path / "hub" / "models--org--name" / "snapshots" / "0123abcd"
    cached = ResolvedModel("org/name", str(snapshot), "sentence-transformer", "cache")
    assert provenance(SimpleNamespace(model="org/name", revision=None), cached) == \
        {"source": "org/name", "revision": "0123abcd"}
    local = ResolvedModel("m", "relative/folder", "sentence-transformer", "local")
    assert provenance(SimpleNamespace(model="relative/folder", revision=None), local) == \
        {"source": str(Path("relative/folder").resolve())}
