"""precheck ci: a project config, many models, JUnit, baselines, annotations (issue 6)."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from conftest import invoke


def write_config(folder, probe_file, models: list[str], extra: str = "", name: str = "precheck.toml"):
    entries = "".join(f'\n[[models]]\nname = "{m}"\n' for m in models)
    path = folder / name
    path.write_text(f'{extra}\n[defaults]\ndtypes = ["fp16"]\ntexts = "{probe_file}"\n{entries}', encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def ci_run(ci_pair_run, overflow_model):
    return ci_pair_run, ci_pair_run.folder, str(overflow_model)


def test_ci_one_clean_one_failing_model_exits_1(ci_run):
    run, _, _ = ci_run
    assert run.exit_code == 1


def test_ci_junit_has_one_case_per_model_and_dtype_and_one_failure(ci_run):
    _, folder, overflow = ci_run
    suite = ET.parse(folder / "junit.xml").getroot()
    cases = suite.findall("testcase")
    assert len(cases) == 2 and suite.get("tests") == "2" and suite.get("failures") == "1"
    failing = [c for c in cases if c.find("failure") is not None]
    assert [c.get("classname") for c in failing] == [overflow]
    assert failing[0].get("name") == "float16"


def test_ci_junit_failure_carries_diagnosis_and_fix_snippet(ci_run):
    _, folder, _ = ci_run
    failure = ET.parse(folder / "junit.xml").getroot().find("testcase/failure")
    assert "diagnosis: overflow" in failure.text
    assert "recommended fix: keep-fp32" in failure.text and "register_forward_hook" in failure.text


def test_ci_json_holds_every_report(ci_run):
    from precheck.data.schema import REPORT_SCHEMA

    run, _, _ = ci_run
    document = run.json()
    assert document["schema"] == "precheck.ci/1" and document["passed"] is False
    assert [m["passed"] for m in document["models"]] == [True, False]
    for model in document["models"]:
        jsonschema.validate(model["report"], REPORT_SCHEMA)


def test_ci_prints_github_annotations_for_failures(tmp_path, plain_model, overflow_model, probe_file, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    config = write_config(tmp_path, probe_file, [str(overflow_model)])
    config.write_text(config.read_text().replace('[defaults]', '[defaults]\nfix = false'))
    run = invoke("ci", "--config", config, "-q")
    assert run.exit_code == 1
    assert f"::error title=precheck {overflow_model} float16::NaN/inf" in run.stdout


@pytest.fixture(scope="module")
def baseline_project(tmp_path_factory, plain_model, probe_file):
    folder = tmp_path_factory.mktemp("baseline")
    config = write_config(folder, probe_file, [str(plain_model)], extra="[tolerance]\nmin_cosine = 1e-7\n")
    first = invoke("ci", "--config", config, "--update-baseline", "-q")
    return folder, config, first


def test_ci_update_baseline_records_each_model(baseline_project, plain_model):
    folder, _, first = baseline_project
    assert first.exit_code == 0
    recorded = json.loads((folder / "precheck-baseline.json").read_text())
    assert recorded["schema"] == "precheck.baseline/1"
    assert recorded["models"][str(plain_model)]["float16"]["status"] == "ok"


def test_ci_baseline_regression_fails_and_says_by_how_much(baseline_project, plain_model):
    folder, config, _ = baseline_project
    path = folder / "precheck-baseline.json"
    recorded = json.loads(path.read_text())
    # A figure that was better when recorded: the same model now scores below it.
    recorded["models"][str(plain_model)]["float16"]["min_cosine"] = 1.0
    path.write_text(json.dumps(recorded))
    run = invoke("ci", "--config", config, "--json", "-", "-q")
    assert run.exit_code == 1
    regression = run.json()["models"][0]["regressions"][0]
    assert regression["figure"] == "min_cosine" and regression["baseline"] == 1.0
    assert "min_cosine 1.000000 -> 0.99" in regression["message"] and "tolerance 1e-07" in regression["message"]


def test_ci_unknown_model_key_exits_2_naming_it(tmp_path, probe_file):
    config = write_config(tmp_path, probe_file, ["x"])
    config.write_text(config.read_text() + "min_cosin = 0.99\n")
    run = invoke("ci", "--config", config)
    assert run.exit_code == 2
    assert "precheck.toml.models[0].min_cosin: unknown key" in run.stderr and "Traceback" not in run.stderr


def test_ci_bad_value_exits_2_naming_the_key(tmp_path, probe_file):
    config = write_config(tmp_path, probe_file, ["x"])
    config.write_text(config.read_text().replace('dtypes = ["fp16"]', 'dtypes = ["fp8"]'))
    run = invoke("ci", "--config", config)
    assert run.exit_code == 2 and "precheck.toml.defaults.dtypes" in run.stderr


def test_ci_reads_tool_precheck_from_pyproject_in_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\n\n[tool.precheck]\nmodles = []\n')
    monkeypatch.chdir(tmp_path)
    run = invoke("ci")
    assert run.exit_code == 2 and "tool.precheck.modles: unknown key" in run.stderr


def test_ci_without_any_config_exits_2(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = invoke("ci")
    assert run.exit_code == 2 and "no precheck config found" in run.stderr


def test_ci_model_that_cannot_be_scanned_exits_2_and_is_a_junit_error(tmp_path, probe_file):
    config = write_config(tmp_path, probe_file, [str(tmp_path / "missing-model")])
    run = invoke("ci", "--config", config, "--junit", tmp_path / "j.xml", "-q")
    assert run.exit_code == 2
    suite = ET.parse(tmp_path / "j.xml").getroot()
    assert suite.get("errors") == "1" and suite.find("testcase/error") is not None
