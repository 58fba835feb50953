"""precheck ci --shard K/N and precheck merge: many models over a CI job matrix (issue 15)."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from cli_checks import assert_one_line_error
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


def test_merge_refuses_an_unsharded_report_mixed_with_shards(matrix, project_b, monkeypatch):
    monkeypatch.chdir(matrix[0])
    assert_one_line_error(invoke("merge", "shard1.json", project_b / "whole.json"),
                          "is an unsharded report", "shard1.json is shard 1/2")


def test_merge_refuses_reports_of_different_precheck_versions(matrix, tmp_path, monkeypatch):
    folder, _ = matrix
    old = _edited(folder / "shard2.json", tmp_path, lambda d: d.update(precheck="0.0.1"), "old.json")
    monkeypatch.chdir(folder)
    assert_one_line_error(invoke("merge", "shard1.json", old), "different precheck versions")


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
    assert "precheck merge " in (Path(__file__).resolve().parents[2] / "docs" / "ci.md").read_text()


def test_merge_summary_appends_a_markdown_table_of_every_model_and_dtype(matrix):
    folder, _ = matrix
    text = (folder / "summary.md").read_text()
    assert "PASS, 3 of 3 models pass" in text.splitlines()[0]
    rows = [line for line in text.splitlines() if line.startswith("| ") and "tiny-" in line]
    assert [next(m for m in MODELS if m in row) for row in rows] == MODELS


@pytest.fixture(scope="module")
def project_b(tmp_path_factory, probe_file):
    """Another project: another model under the name models/tiny-a, bfloat16 only, min_cosine 0.99;
    its shard 2/2 is empty (models/tiny-a hashes to shard 1 of 2), so it costs one scan in all."""
    folder = tmp_path_factory.mktemp("project-b")
    build_tiny_model(folder / "models" / "tiny-a", seed=7)
    (folder / "precheck.toml").write_text(f'[[models]]\nname = "models/tiny-a"\ndtypes = ["bf16"]\nfix = false\n'
                                          f'min_cosine = 0.99\ntexts = "{probe_file}"\n')
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        assert invoke("ci", "--json", "whole.json", "-q").exit_code == 0
        assert invoke("ci", "--shard", "2/2", "--json", "shard2.json", "-q").exit_code == 0
    return folder


def _edited(source, tmp_path, edit, name: str = "edited.json"):
    document = json.loads(source.read_text())
    edit(document)
    (tmp_path / name).write_text(json.dumps(document))
    return tmp_path / name


def test_ci_report_records_one_digest_for_every_shard_of_a_run_and_each_models_settings(matrix, project_b):
    folder, _ = matrix
    runs = [json.loads((folder / name).read_text())["run"] for name in ("whole.json", "shard1.json", "shard2.json")]
    assert len({r["digest"] for r in runs}) == 1 and runs[0]["digest"].startswith("sha256:")
    assert [m["name"] for m in runs[1]["models"]] == MODELS  # the whole run's models, in every shard
    assert {(m["dtypes"][0], m["min_cosine"]) for m in runs[1]["models"]} == {("float16", 0.999)}
    other = json.loads((project_b / "shard2.json").read_text())["run"]
    assert other["digest"] != runs[0]["digest"] and other["models"][0]["dtypes"] == ["bfloat16"]


def test_merge_refuses_shards_of_two_projects_naming_the_difference(matrix, project_b, monkeypatch):
    folder, _ = matrix
    monkeypatch.chdir(folder)
    run = invoke("merge", "shard1.json", project_b / "shard2.json")
    assert_one_line_error(run, "are not one run", "models/tiny-b is only in shard1.json")


def test_merge_refuses_a_shard_given_twice(matrix, tmp_path, monkeypatch):
    folder, _ = matrix
    monkeypatch.chdir(folder)
    copy = _edited(folder / "shard1.json", tmp_path, lambda d: None, "again.json")
    assert_one_line_error(invoke("merge", "shard1.json", copy), "shard 1/2 is given twice")


def test_merge_refuses_shards_of_matrices_of_different_sizes(matrix, monkeypatch):
    folder, _ = matrix
    monkeypatch.chdir(folder)
    # No model of this project hashes to shard 2 of 3: the job scans nothing.
    assert invoke("ci", "--shard", "2/3", "--json", "of-three.json", "-q").exit_code == 0
    assert_one_line_error(invoke("merge", "shard1.json", "of-three.json"), "matrices of different sizes", "1/2, 2/3")


def test_merge_refuses_shards_that_ran_other_dtypes_than_the_config_asks(project_b, tmp_path, monkeypatch):
    config = tmp_path / "precheck.toml"
    config.write_text((project_b / "precheck.toml").read_text().replace('["bf16"]', '["fp16"]'))
    monkeypatch.chdir(project_b)
    run = invoke("merge", "whole.json", "--config", config)
    assert_one_line_error(run, "not run with precheck.toml", "dtypes ['bfloat16'] in whole.json, ['float16'] in precheck.toml")


def test_merge_refuses_shards_that_ran_a_lower_min_cosine_than_the_config_asks(matrix, tmp_path, monkeypatch):
    folder, _ = matrix
    config = tmp_path / "precheck.toml"
    config.write_text((folder / "precheck.toml").read_text().replace("fix = false", "fix = false\nmin_cosine = 1.0"))
    monkeypatch.chdir(folder)
    run = invoke("merge", "shard1.json", "shard2.json", "--config", config)
    assert_one_line_error(run, "models/tiny-a min_cosine 0.999 in the reports, 1.0 in precheck.toml")


def _load_result(document: dict) -> dict:
    return next(r for r in document["models"][0]["report"]["results"] if r["strategy"] == "load")


@pytest.mark.parametrize("figures", [{"min_cosine": float("nan")}, {"nonfinite": 3}], ids=["nan-cosine", "nonfinite"])
def test_merge_fails_a_report_whose_figures_say_nan_whatever_its_verdict_says(matrix, tmp_path, monkeypatch, figures):
    folder, _ = matrix
    edited = _edited(folder / "shard2.json", tmp_path, lambda d: _load_result(d).update(figures), "shard2.json")
    monkeypatch.chdir(folder)
    assert json.loads(edited.read_text())["models"][0]["report"]["verdict"]["passed"] is True
    run = invoke("merge", "shard1.json", edited, "--json", tmp_path / "merged.json")
    assert run.exit_code == 1
    merged = json.loads((tmp_path / "merged.json").read_text())
    assert [m["passed"] for m in merged["models"] if m["name"] == "models/tiny-b"] == [False]


def test_merge_refuses_a_report_whose_settings_are_not_its_runs(matrix, tmp_path, monkeypatch):
    folder, _ = matrix
    edited = _edited(folder / "shard2.json", tmp_path,
                     lambda d: d["models"][0]["report"]["settings"].update(min_cosine=0.5), "shard2.json")
    monkeypatch.chdir(folder)
    assert_one_line_error(invoke("merge", "shard1.json", edited), "report.settings.min_cosine is 0.5", "0.999")


def test_merge_of_reports_that_compared_no_model_exits_2(project_b, tmp_path):
    def no_models(document):
        document.update(shard=None, models=[])
        document["run"]["models"] = []
    edited = _edited(project_b / "shard2.json", tmp_path, no_models)
    assert_one_line_error(invoke("merge", edited), "no models were compared")


def test_merge_refuses_shards_that_leave_a_model_of_the_run_out(project_b, tmp_path):
    """Every shard of the run present and each empty: the run's model was compared nowhere."""
    edited = _edited(project_b / "shard2.json", tmp_path, lambda d: d.update(shard=None))
    assert_one_line_error(invoke("merge", edited), "models/tiny-a is in the run but in no report")


def test_ci_and_merge_reports_match_the_published_ci_schema(matrix, project_b):
    import jsonschema

    from precheck.data.schema.ci import CI_REPORT_SCHEMA

    folder, _ = matrix
    for path in (folder / "whole.json", folder / "shard1.json", folder / "merged.json", project_b / "shard2.json"):
        jsonschema.validate(json.loads(path.read_text()), CI_REPORT_SCHEMA)


def test_merge_refuses_shards_that_ran_other_probe_texts_than_the_config_names(matrix, tmp_path, monkeypatch):
    """Same settings, same file name, other content: the texts are digested by what they hold."""
    from conftest import PROBE_TEXTS

    folder, _ = matrix
    (tmp_path / "texts.txt").write_text("\n".join(reversed(PROBE_TEXTS)) + "\n")
    config = tmp_path / "precheck.toml"
    config.write_text(f'[defaults]\ndtypes = ["fp16"]\nfix = false\ntexts = "{tmp_path / "texts.txt"}"\n'
                      + "".join(f'\n[[models]]\nname = "{m}"\n' for m in MODELS))
    monkeypatch.chdir(folder)
    run = invoke("merge", "shard1.json", "shard2.json", "--config", config)
    assert_one_line_error(run, "not run with precheck.toml", "models/tiny-a probe texts sha256:")
