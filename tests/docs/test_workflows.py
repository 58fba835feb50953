"""The docs' workflows, run as a user runs them: the default environment (the reference cache on), MiniLM's
real weights (cut to two layers so each scan is short), one test per workflow. They are the suite's smoke
test: when one breaks, its name says which workflow a user would see break."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import fixture_models
from conftest import PROBE_TEXTS, invoke


@pytest.fixture(scope="module")
def minilm(tmp_path_factory) -> Path:
    return fixture_models.build_two_layer_minilm(tmp_path_factory.mktemp("workflow") / "minilm-2")


@pytest.fixture(scope="module")
def minilm_overflow(tmp_path_factory) -> Path:
    return fixture_models.build_two_layer_minilm(tmp_path_factory.mktemp("workflow") / "minilm-2-overflow",
                                                 overflow=True)


@pytest.fixture(autouse=True)
def defaults_as_users_have_them(monkeypatch):
    monkeypatch.delenv("PRECHECK_NO_CACHE", raising=False)


def finite_and_close(model, reference, texts: list[str]) -> float:
    """The lowest cosine of `model`'s embeddings to `reference`'s (float32) on `texts`; asserts they are finite."""
    import torch

    got = model.encode(texts, convert_to_tensor=True).float()
    want = reference.encode(texts, convert_to_tensor=True).float()
    assert bool(torch.isfinite(got).all())
    return float(torch.nn.functional.cosine_similarity(got, want).min())


def test_workflow_notebook_scan_fix_save_and_load(minilm_overflow, probe_file, tmp_path):
    """docs/diagnosis.md and the README: an object scanned, fixed in memory, saved, fixed on disk, loaded."""
    from sentence_transformers import SentenceTransformer

    import precheck

    model = SentenceTransformer(str(minilm_overflow), device="cpu")
    report = precheck.scan(model, dtypes="fp16", device="cpu", texts_file=probe_file)
    assert not report.verdict.passed and report.diagnoses[0].cause == "overflow"
    fixed, plan = precheck.fix(model, "fp16", device="cpu", texts_file=probe_file)
    texts = Path(probe_file).read_text(encoding="utf-8").splitlines()
    assert finite_and_close(fixed, model, texts) > 0.99
    model.save(str(tmp_path / "saved"))
    run = invoke("fix", tmp_path / "saved", "--dtype", "fp16", "--out", tmp_path / "fixed", "--texts", probe_file,
                 "--device", "cpu", "-q")
    assert run.exit_code == 0, run.stderr
    loaded = precheck.load(str(tmp_path / "fixed"), dtype="fp16", device="cpu", scan=False)
    assert finite_and_close(loaded, model, texts) > 0.99


def test_workflow_training_with_the_callback_runs_to_the_end(minilm, tmp_path, capsys):
    """docs/training.md: the callback on a real fine-tuning run, a check at each save (its default, `when`);
    the short probe texts, as everywhere here (its default items: tests/training/test_callback_keeps_training.py)."""
    from sentence_transformers import SentenceTransformer

    from precheck.integrations import PrecheckCallback
    from training_runs import train

    model = SentenceTransformer(str(minilm), device="cpu")
    callback = PrecheckCallback(dtypes=["fp16"], texts=PROBE_TEXTS)
    trainer = train(model, tmp_path / "run", [callback], steps=4, save_steps=2)
    assert trainer.state.global_step == 4
    assert [check.step for check in callback.checks] == [2, 4]
    assert all(check.passed == {"float16": True} for check in callback.checks)
    for check in callback.checks:
        assert json.loads(Path(check.report_path).read_text())["model"]["source"] == "object"


def test_workflow_ci_shards_merge_summary_and_html(minilm, minilm_overflow, probe_file, tmp_path, monkeypatch):
    """docs/ci.md: a config of two models, the two shards of a matrix, merge with JUnit, the job summary, --html."""
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "precheck.toml"
    config.write_text(f'[defaults]\ndtypes = ["fp16"]\ntexts = "{probe_file}"\ndevice = "cpu"\n'
                      f'\n[[models]]\nname = "{minilm}"\n\n[[models]]\nname = "{minilm_overflow}"\n', encoding="utf-8")
    shards = []
    for shard in ("1/2", "2/2"):
        out = tmp_path / f"shard{shard[0]}.json"
        run = invoke("ci", "--shard", shard, "--json", out, "-q")
        assert run.exit_code in (0, 1), run.stderr
        shards.append(out)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    run = invoke("merge", *shards, "--junit", tmp_path / "junit.xml", "--html", tmp_path / "report.html", "-q")
    assert run.exit_code == 1, run.stderr  # the overflowing model fails the gate; the plain one passes
    failures = [case.get("name") for case in ET.parse(tmp_path / "junit.xml").iter("testcase")
                if case.find("failure") is not None]
    assert len(failures) == 1
    assert "minilm-2-overflow" in summary.read_text(encoding="utf-8")
    assert "<html" in (tmp_path / "report.html").read_text(encoding="utf-8").lower()


def test_workflow_quantized_scan_fix_and_load(minilm, probe_file, tmp_path):
    """docs/quantization.md: scan two quantized precisions, fix one, load the fixed folder with its plan."""
    pytest.importorskip("bitsandbytes")
    run = invoke("scan", minilm, "--dtype", "int8,nf4", "--texts", probe_file, "--device", "cpu", "--no-fix",
                 "--json", "-", "-q")
    assert run.exit_code in (0, 1), run.stderr
    assert [v["dtype"] for v in run.json()["verdict"]["dtypes"]] == ["int8", "nf4"]
    run = invoke("fix", minilm, "--dtype", "nf4", "--out", tmp_path / "fixed", "--texts", probe_file,
                 "--device", "cpu", "-q", "--json", "-")
    assert run.exit_code == 0, run.stderr
    assert run.json()["done"] is True
    import precheck
    from sentence_transformers import SentenceTransformer

    loaded = precheck.load(str(tmp_path / "fixed"), dtype="nf4", device="cpu", scan=False)
    texts = Path(probe_file).read_text(encoding="utf-8").splitlines()
    assert finite_and_close(loaded, SentenceTransformer(str(minilm), device="cpu"), texts) > 0.9


def test_workflow_pytest_assert_survives(minilm, minilm_overflow, probe_file):
    """docs/training.md: assert_survives in a user's own test, passing and failing."""
    import precheck.testing

    precheck.testing.assert_survives(str(minilm), "fp16", device="cpu", texts_file=probe_file)
    with pytest.raises(AssertionError, match="overflow"):
        precheck.testing.assert_survives(str(minilm_overflow), "fp16", device="cpu", texts_file=probe_file)


def test_workflow_fix_of_a_torchao_precision_writes_a_folder_that_loads(minilm, probe_file, tmp_path):
    """docs/quantization.md: `fix --dtype int8wo` reloads its folder to verify it; torchao's weights have no
    plain bytes for a fingerprint, so the reload is encoded, never compared by weights."""
    pytest.importorskip("torchao")
    run = invoke("fix", minilm, "--dtype", "int8wo", "--out", tmp_path / "fixed", "--texts", probe_file,
                 "--device", "cpu", "-q", "--json", "-")
    assert run.exit_code == 0, run.stderr
    assert run.json()["done"] is True and run.json()["check"]["status"] == "ok"
