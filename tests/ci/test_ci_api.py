"""precheck.ci and precheck.merge: the CI gate in Python is the command's own workflow (workflow/ci.py),
so the library and `precheck ci` / `precheck merge` give the same run."""
from __future__ import annotations

import json
import shutil

import pytest

import precheck
from conftest import invoke


def _figures(document: dict) -> list:
    """What a ci document says of each model and dtype, timings left out."""
    return [(model["name"], model["passed"], [(r["dtype"], r["strategy"], r["status"], r["min_cosine"])
                                              for r in model["report"]["results"]])
            for model in document["models"]]


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_model, probe_file):
    folder = tmp_path_factory.mktemp("ci-api")
    for name in ("first", "second"):  # two models, so that each shard of two scans one
        shutil.copytree(tiny_model, folder / name)
    models = "".join(f'\n[[models]]\nname = "{name}"\n' for name in ("first", "second"))
    (folder / "precheck.toml").write_text(f'[defaults]\ndtypes = ["bf16"]\ntexts = "{probe_file}"\nfix = false\n'
                                          f'{models}', encoding="utf-8")
    return folder


def test_precheck_ci_gives_the_run_precheck_ci_gives(project, monkeypatch):
    monkeypatch.chdir(project)
    command = invoke("ci", "--json", "command.json", "-q")
    run = precheck.ci(device="cpu")
    assert run.exit_code == command.exit_code
    assert _figures(json.loads(run.to_json())) == _figures(json.loads((project / "command.json").read_text()))


def test_precheck_merge_gives_the_gate_precheck_merge_gives(project, monkeypatch):
    monkeypatch.chdir(project)
    for shard in ("1/2", "2/2"):
        assert invoke("ci", "--shard", shard, "--json", f"shard{shard[0]}.json", "-q").exit_code in (0, 1)
    command = invoke("merge", "shard1.json", "shard2.json", "--json", "merged.json", "-q")
    run = precheck.merge(["shard1.json", "shard2.json"])
    assert run.exit_code == command.exit_code
    assert _figures(json.loads(run.to_json())) == _figures(json.loads((project / "merged.json").read_text()))


def test_precheck_ci_refuses_an_option_the_command_line_of_ci_does_not_take(project, monkeypatch):
    monkeypatch.chdir(project)
    with pytest.raises(precheck.PrecheckError, match="min_cosine: not an option of precheck.ci"):
        precheck.ci(min_cosine=0.5)


def test_the_ci_docs_python_example_runs_as_written(project, monkeypatch, capsys):
    """docs/ci.md's "From Python" block, run as written in a project with two shard reports."""
    from pathlib import Path

    monkeypatch.chdir(project)
    for shard in ("1/2", "2/2"):
        invoke("ci", "--shard", shard, "--json", f"shard{shard[0]}.json", "-q", "--force")
    text = (Path(__file__).resolve().parents[2] / "docs" / "ci.md").read_text(encoding="utf-8")
    section = text.split("## From Python: `precheck.ci` and `precheck.merge`", 1)[1]
    block = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(block, "docs/ci.md", "exec"), namespace)  # noqa: S102 - the documented example itself
    assert capsys.readouterr().out.strip() == "0 [True, True]"
    assert namespace["shards"].exit_code == 0
