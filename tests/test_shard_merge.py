"""precheck ci --shard K/N and precheck merge: many models over a CI job matrix (issue 15)."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from conftest import invoke
from scale_models import build_tiny_model

MODELS = ["models/tiny-a", "models/tiny-b", "models/tiny-c"]  # shards of 2: a and c in 1, b in 2


def _cases(junit_path) -> list[tuple]:
    suite = ET.parse(junit_path).getroot()
    return sorted((c.get("classname"), c.get("name"), c.find("failure") is not None, c.find("error") is not None)
                  for c in suite.findall("testcase"))


@pytest.fixture(scope="module")
def matrix(tmp_path_factory, probe_file):
    """Three tiny models scanned once whole and once as two shards, then merged; names relative to
    the project folder, as in a repository, so that the shards are the same on every machine."""
    folder = tmp_path_factory.mktemp("matrix")
    for seed, name in enumerate(MODELS):
        build_tiny_model(folder / name, seed)
    entries = "".join(f'\n[[models]]\nname = "{m}"\n' for m in MODELS)
    (folder / "precheck.toml").write_text(f'[defaults]\ndtypes = ["fp16"]\nfix = false\ntexts = "{probe_file}"\n{entries}')
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        runs = {
            "whole": invoke("ci", "--json", "whole.json", "--junit", "whole.xml", "-q"),
            "shard1": invoke("ci", "--shard", "1/2", "--json", "shard1.json", "-q"),
            "shard2": invoke("ci", "--shard", "2/2", "--json", "shard2.json", "-q"),
        }
        runs["merge"] = invoke("merge", "shard1.json", "shard2.json", "--junit", "merged.xml", "--json", "merged.json",
                               "--summary", "summary.md")
    return folder, runs


def _names(path) -> list[str]:
    return [m["name"] for m in json.loads(path.read_text())["models"]]


def test_ci_shards_scan_each_model_exactly_once(matrix):
    folder, runs = matrix
    assert runs["shard1"].exit_code == 0 and runs["shard2"].exit_code == 0
    first, second = _names(folder / "shard1.json"), _names(folder / "shard2.json")
    assert first == ["models/tiny-a", "models/tiny-c"] and second == ["models/tiny-b"]


def test_ci_shard_report_says_which_shard_and_precheck_version(matrix):
    from precheck import __version__

    folder, _ = matrix
    document = json.loads((folder / "shard2.json").read_text())
    assert document["shard"] == "2/2" and document["precheck"] == __version__


def test_merge_junit_equals_an_unsharded_runs_test_cases(matrix):
    folder, runs = matrix
    assert runs["merge"].exit_code == runs["whole"].exit_code == 0
    assert _cases(folder / "merged.xml") == _cases(folder / "whole.xml")
    assert len(_cases(folder / "merged.xml")) == 3


def test_merge_prints_the_ci_summary_in_config_order(matrix):
    folder, runs = matrix
    assert "3 of 3 models pass" in runs["merge"].stdout
    assert _names(folder / "merged.json") == MODELS


def test_merge_of_overlapping_reports_exits_2(matrix, monkeypatch):
    folder, _ = matrix
    monkeypatch.chdir(folder)
    run = invoke("merge", "shard1.json", "whole.json")
    assert run.exit_code == 2
    assert "models/tiny-a is covered twice" in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_merge_refuses_reports_of_different_precheck_versions(matrix, tmp_path, monkeypatch):
    folder, _ = matrix
    document = json.loads((folder / "shard2.json").read_text())
    document["precheck"] = "0.0.1"
    (tmp_path / "old.json").write_text(json.dumps(document))
    monkeypatch.chdir(folder)
    run = invoke("merge", "shard1.json", tmp_path / "old.json")
    assert run.exit_code == 2 and "different precheck versions" in run.stderr


def test_merge_refuses_a_missing_shard(matrix, monkeypatch):
    folder, _ = matrix
    monkeypatch.chdir(folder)
    run = invoke("merge", "shard1.json")
    assert run.exit_code == 2 and "shard 2/2 is missing" in run.stderr


def test_merge_checks_the_baseline_like_ci(matrix, tmp_path, monkeypatch):
    """A baseline that recorded a better figure than now: merge reports the regression and exits 1."""
    folder, _ = matrix
    monkeypatch.chdir(folder)
    assert invoke("merge", "shard1.json", "shard2.json", "--update-baseline", "-q").exit_code == 0
    baseline = json.loads((folder / "precheck-baseline.json").read_text())
    assert sorted(baseline["models"]) == MODELS
    baseline["models"]["models/tiny-b"]["float16"]["min_cosine"] = 1.5
    (folder / "precheck-baseline.json").write_text(json.dumps(baseline))
    try:
        run = invoke("merge", "shard1.json", "shard2.json", "--junit", tmp_path / "gate.xml")
    finally:
        (folder / "precheck-baseline.json").unlink()
    assert run.exit_code == 1
    assert [c for c in _cases(tmp_path / "gate.xml") if c[2]] == [("models/tiny-b", "float16", True, False)]


def test_ci_shard_rejects_a_bad_shard_with_one_line(matrix, monkeypatch):
    folder, _ = matrix
    monkeypatch.chdir(folder)
    run = invoke("ci", "--shard", "3/2")
    assert run.exit_code == 2 and "K must be between 1 and N" in run.stderr


def test_ci_shard_keeps_each_model_in_its_shard_when_others_are_added():
    from precheck.gate.shard import shard_of

    names = [f"org/model-{i}" for i in range(20)]
    before = {n: shard_of(n, 4) for n in names}
    after = {n: shard_of(n, 4) for n in names + [f"org/new-{i}" for i in range(20)]}
    assert all(after[n] == before[n] for n in names)
    assert set(before.values()) == {1, 2, 3, 4}


def test_merge_has_help_text_and_a_docs_entry():
    from pathlib import Path

    run = invoke("merge", "--help")
    assert run.exit_code == 0 and "REPORT.json" in run.stdout
    assert "precheck merge " in (Path(__file__).resolve().parent.parent / "docs" / "ci.md").read_text()


def test_merge_summary_appends_a_markdown_table_of_every_model_and_dtype(matrix):
    folder, _ = matrix
    text = (folder / "summary.md").read_text()
    assert "PASS, 3 of 3 models pass" in text.splitlines()[0]
    rows = [line for line in text.splitlines() if line.startswith("| ") and "tiny-" in line]
    assert [next(m for m in MODELS if m in row) for row in rows] == MODELS
