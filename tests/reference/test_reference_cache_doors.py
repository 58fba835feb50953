"""Every door that can meet a cached float32 reference, with the cache on as users have it: scan, change the
model as users change it, scan again; the second answer is the one a fresh run (--no-cache) gives, and a
cached entry that disagrees with the model in hand is a miss with a note, never an error."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

import cache_models
from conftest import invoke


@pytest.fixture()
def model_copy(tiny_model, tmp_path, request) -> Path:
    """The tiny model in a folder of this test's own, which the test changes; a README naming the test
    makes its files, and so its cache key, its own (the cache is keyed by content, not by path)."""
    folder = tmp_path / "tiny"
    shutil.copytree(tiny_model, folder)
    (folder / "README.md").write_text(f"# {request.node.nodeid}\n", encoding="utf-8")
    return folder


@pytest.fixture()
def cache_on(monkeypatch):
    """The default, said out loud: a test here must never run with the cache off by accident."""
    monkeypatch.delenv("PRECHECK_NO_CACHE", raising=False)


def scan(model, texts, *extra) -> tuple[int, dict]:
    run = invoke("scan", model, "--texts", texts, "--device", "cpu", "-d", "fp16", "--no-fix", "--json", "-", "-q",
                 *extra)
    assert run.exit_code in (0, 1), run.stderr
    return run.exit_code, run.json()


def answer(exit_code: int, report: dict) -> tuple:
    """What a user reads off a scan: the exit code, each run's status and figures, the verdict lines."""
    results = [(r["dtype"], r["strategy"], r["status"], r["nonfinite"], r["min_cosine"]) for r in report["results"]]
    return exit_code, results, [(v["dtype"], v["passed"]) for v in report["verdict"]["dtypes"]]


def assert_fresh(cached_run: tuple[int, dict], model, texts, *extra) -> None:
    assert cached_run[1]["reference"]["cached"] is False
    assert answer(*cached_run) == answer(*scan(model, texts, "--no-cache", *extra))


def cache_entries() -> list[Path]:
    from precheck.engine.cache_key import cache_folder

    folder = cache_folder() / "references"
    return sorted(folder.glob("[!.]*"), key=lambda p: p.stat().st_mtime_ns) if folder.is_dir() else []


def test_rescanning_an_unchanged_folder_reuses_its_reference(cache_on, model_copy, tiny_texts):
    first = scan(model_copy, tiny_texts)
    second = scan(model_copy, tiny_texts)
    assert second[1]["reference"]["cached"] is True
    assert answer(*second) == answer(*first)


def test_weights_rewritten_in_place_with_the_same_size_and_mtime_get_the_fresh_verdict(cache_on, model_copy,
                                                                                        tiny_texts):
    assert scan(model_copy, tiny_texts)[0] == 0
    cache_models.overflow_weights_in_place(model_copy)
    after = scan(model_copy, tiny_texts)
    assert after[0] == 1  # float16 now overflows: the cached reference of the old weights must not hide it
    assert_fresh(after, model_copy, tiny_texts)


def test_weights_swapped_keeping_size_mtime_edges_and_every_sum_miss_the_cache(cache_on, model_copy, tiny_texts,
                                                                              monkeypatch):
    from precheck.engine import cache_key

    # Every file through the memo that a weights file over 16 MiB takes (identity and ctime, not content).
    monkeypatch.setattr(cache_key, "REMEMBERED_FROM", 0)
    scan(model_copy, tiny_texts)
    assert scan(model_copy, tiny_texts)[1]["reference"]["cached"] is True
    cache_models.swap_weights_in_place(model_copy)
    assert_fresh(scan(model_copy, tiny_texts), model_copy, tiny_texts)


@pytest.mark.parametrize("change", [cache_models.change_tokenizer, cache_models.change_modules,
                                    cache_models.change_pooling], ids=["tokenizer", "modules.json", "pooling"])
def test_a_changed_tokenizer_pipeline_or_pooling_misses_the_cache(cache_on, model_copy, tiny_texts, change):
    scan(model_copy, tiny_texts)
    change(model_copy)
    assert_fresh(scan(model_copy, tiny_texts), model_copy, tiny_texts)


def test_a_module_folder_behind_a_symbolic_link_is_part_of_the_key(cache_on, model_copy, tiny_texts, tmp_path):
    pooling = cache_models.pooling_folder(model_copy)
    elsewhere = tmp_path / "pooling-elsewhere"
    shutil.move(str(pooling), elsewhere)
    os.symlink(elsewhere, pooling, target_is_directory=True)
    scan(model_copy, tiny_texts)
    cache_models.change_pooling(model_copy)  # through the link
    assert_fresh(scan(model_copy, tiny_texts), model_copy, tiny_texts)


def test_an_entry_that_disagrees_with_the_model_is_a_miss_with_a_note_even_for_a_quantized_only_scan(
        cache_on, model_copy, tiny_texts):
    """Whatever the key says: an entry made of other weights is held against a float32 load and dropped,
    also when the scan asks only a quantized precision (no float32 run of its own)."""
    scan(model_copy, tiny_texts)
    entry = cache_entries()[-1] / "reference.json"
    meta = json.loads(entry.read_text())
    meta["fingerprint"] = "0" * 32
    entry.write_text(json.dumps(meta))
    code, report = scan(model_copy, tiny_texts, "-d", "int8wo")
    assert report["reference"]["cached"] is False
    assert any("not those it was made from" in note for note in report["notes"])


@pytest.mark.parametrize("field, value", [("notes", "a string where a list of notes belongs"),
                                          ("reference.seconds", "1"), ("window", "256")])
def test_a_malformed_entry_is_a_miss_and_none_of_its_fields_reach_the_report(cache_on, model_copy, tiny_texts,
                                                                            field, value):
    scan(model_copy, tiny_texts)
    entry = cache_entries()[-1] / "reference.json"
    meta = json.loads(entry.read_text())
    *parents, last = field.split(".")
    target = meta
    for name in parents:
        target = target[name]
    target[last] = value
    entry.write_text(json.dumps(meta))
    code, report = scan(model_copy, tiny_texts)
    assert report["reference"]["cached"] is False
    assert any("malformed" in note and field.split(".")[0] in note for note in report["notes"])
    assert all(len(note) > 1 for note in report["notes"])


def test_fix_after_a_scan_of_changed_weights_verifies_against_the_fresh_reference(cache_on, model_copy, tiny_texts,
                                                                                tmp_path):
    scan(model_copy, tiny_texts)
    cache_models.overflow_weights_in_place(model_copy)
    run = invoke("fix", model_copy, "--dtype", "fp16", "--out", tmp_path / "fixed", "--texts", tiny_texts,
                 "--device", "cpu", "-q", "--json", "-")
    assert run.exit_code in (0, 1), run.stderr
    fixed = run.json()
    assert fixed["report"]["reference"]["cached"] is False
    assert [r["status"] for r in fixed["report"]["results"] if r["strategy"] == "load"] != ["ok"]


def test_ci_after_weights_change_gives_the_fresh_verdict(cache_on, model_copy, tiny_texts, tmp_path):
    config = tmp_path / "precheck.toml"
    config.write_text(f'[defaults]\ndtypes = ["fp16"]\ntexts = "{tiny_texts}"\ndevice = "cpu"\nfix = false\n'
                      f'\n[[models]]\nname = "{model_copy}"\n', encoding="utf-8")
    assert invoke("ci", "--config", config, "-q").exit_code == 0
    cache_models.overflow_weights_in_place(model_copy)
    for shard in ("1/1", None):
        run = invoke("ci", "--config", config, "-q", *(("--shard", shard) if shard else ()))
        assert run.exit_code == 1, run.stderr


@pytest.fixture()
def tiny_object(model_copy):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_copy), device="cpu")


def api_scan(model, texts, **options):
    import precheck

    return precheck.scan(model, dtypes="fp16", device="cpu", texts_file=texts, fix=False, **options)


def test_an_object_rescanned_unchanged_reuses_its_reference(cache_on, tiny_object, tiny_texts):
    first = api_scan(tiny_object, tiny_texts)
    second = api_scan(tiny_object, tiny_texts)
    assert second.reference.cached is True and second.verdict.passed == first.verdict.passed


def test_an_object_changed_in_place_as_training_does_is_judged_afresh_never_refused(cache_on, tiny_object,
                                                                                   tiny_texts, monkeypatch):
    assert api_scan(tiny_object, tiny_texts).verdict.passed
    cache_models.overflow_object_in_place(tiny_object)
    after = api_scan(tiny_object, tiny_texts)
    assert not after.verdict.passed
    monkeypatch.setenv("PRECHECK_NO_CACHE", "1")
    fresh = api_scan(tiny_object, tiny_texts)
    assert [(r.status, r.nonfinite) for r in after.results] == [(r.status, r.nonfinite) for r in fresh.results]


def test_a_folder_and_the_object_loaded_from_it_keep_separate_entries(cache_on, model_copy, tiny_object,
                                                                      tiny_texts):
    """An object is keyed by its own weights, never by the folder its weights were first read from."""
    scan(model_copy, tiny_texts)
    cache_models.overflow_object_in_place(tiny_object)
    assert not api_scan(tiny_object, tiny_texts).verdict.passed
    assert scan(model_copy, tiny_texts)[0] == 0


def test_assert_survives_after_the_object_changed_fails_with_the_fresh_diagnosis(cache_on, tiny_object, tiny_texts):
    from precheck.testing import assert_survives

    assert_survives(tiny_object, "fp16", device="cpu", texts_file=tiny_texts, fix=False)
    cache_models.overflow_object_in_place(tiny_object)
    with pytest.raises(AssertionError, match="does not survive float16"):
        assert_survives(tiny_object, "fp16", device="cpu", texts_file=tiny_texts, fix=False)


def test_precheck_fix_of_a_changed_object_after_its_scan_is_verified_afresh(cache_on, tiny_object, tiny_texts):
    import precheck

    api_scan(tiny_object, tiny_texts)
    cache_models.overflow_object_in_place(tiny_object)
    try:
        fixed, plan = precheck.fix(tiny_object, "fp16", device="cpu", texts_file=tiny_texts)
    except precheck.PrecheckError as error:  # no verified fix is an answer; a stale reference's error is not
        assert "from one load to the next" not in str(error)
    else:
        assert plan.strategy != "load"  # plain float16 overflows now: the plan must be a real fix


def test_precheck_load_of_a_changed_folder_after_its_scan_scans_afresh(cache_on, model_copy, tiny_texts):
    import precheck

    precheck.load(str(model_copy), dtype="fp16", device="cpu", texts_file=tiny_texts)
    cache_models.overflow_weights_in_place(model_copy)
    model = precheck.load(str(model_copy), dtype="fp16", device="cpu", texts_file=tiny_texts)
    embeddings = model.encode(["how do I reset my password?"], convert_to_tensor=True)
    assert bool(embeddings.isfinite().all())  # the plan found for the new weights runs, where plain float16 is NaN


@pytest.fixture()
def mpnet_copy(tmp_path, request) -> Path:
    """An architecture the cache was not written around (MPNet: relative attention, its own layer names)."""
    from load_option_models import build_tiny_mpnet

    folder = build_tiny_mpnet(tmp_path / "mpnet")
    (folder / "README.md").write_text(f"# {request.node.nodeid}\n", encoding="utf-8")
    return folder


def test_an_mpnet_folder_rewritten_in_place_and_its_object_changed_get_the_fresh_verdict(cache_on, mpnet_copy,
                                                                                       tiny_texts):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(mpnet_copy), device="cpu")
    assert api_scan(model, tiny_texts).verdict.passed
    cache_models.overflow_object_in_place(model)
    assert not api_scan(model, tiny_texts).verdict.passed
    assert scan(mpnet_copy, tiny_texts)[0] == 0
    cache_models.overflow_weights_in_place(mpnet_copy)
    after = scan(mpnet_copy, tiny_texts)
    assert after[0] == 1
    assert_fresh(after, mpnet_copy, tiny_texts)
