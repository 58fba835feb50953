"""One verdict through every door: each gated figure, named by the published report schema, fails
`scan`, `ci`, a merge of shards and a merge with --config alike (engine/verdict.py judge)."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from conftest import invoke
from scale_models import build_tiny_model

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "schemas" / "report.schema.json"
MODELS = ["models/tiny-a", "models/tiny-b"]  # with --shard K/2: a in shard 1, b in shard 2


def _gated_figures(node, path="") -> dict[str, str]:
    """Every property the schema marks with x-precheck-gate: its path -> the threshold it is held against."""
    found = {}
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, dict) and "x-precheck-gate" in value:
                found[f"{path}.{key}".lstrip(".")] = value["x-precheck-gate"]
            found.update(_gated_figures(value, f"{path}.{key}" if key not in ("properties", "items", "oneOf") else path))
    elif isinstance(node, list):
        for value in node:
            found.update(_gated_figures(value, path))
    return found


def _results(report, **where):
    return [r for r in report["results"] if all(r[k] == v for k, v in where.items())]


# How each gated figure is made to fail inside a passing report: one row per figure the schema marks.
# A gate added to the verdict (and so to the schema) fails test_every_gated_figure_has_a_failing_case
# until it has a row here.
def _set_load(report, **figures):
    for result in _results(report, strategy="load"):
        result.update(figures)


def _set_storage(report, rescored: bool, value: float):
    rows = [r for r in report["storage"]["results"] if (r["recall_at_10_rescored"] is not None) == rescored]
    assert rows, "the passing project stores both a rescored and a plain precision"
    for row in rows:
        row["recall_at_10_rescored" if rescored else "recall_at_10"] = value


def _set_evaluation(report, drop: float):
    """float32's metric at 1 and each precision's `drop` below it."""
    for row in report["evaluation"]["results"]:
        row["metric"] = 1.0 if row["dtype"] == "float32" else 1.0 - drop


FAILING_VALUES = {
    "results.nonfinite": lambda report: _set_load(report, nonfinite=3),
    "results.min_cosine": lambda report: _set_load(report, min_cosine=0.5),
    "results.top1_agreement": lambda report: _set_load(report, top1_agreement=0.01),
    "results.spearman": lambda report: _set_load(report, spearman=0.1, max_abs_diff=0.5),
    "storage.results.recall_at_10_rescored": lambda report: _set_storage(report, True, 0.01),
    "storage.results.recall_at_10": lambda report: _set_storage(report, False, 0.01),
    "evaluation.results.metric": lambda report: _set_evaluation(report, 0.5),
}


def test_every_gated_figure_has_a_failing_case():
    gated = _gated_figures(json.loads(SCHEMA.read_text(encoding="utf-8")))
    assert set(gated) == set(FAILING_VALUES)


def _project(folder: Path, tables: str) -> Path:
    from evaluation_sets import write_pairs_tsv

    for seed, name in enumerate(MODELS):
        build_tiny_model(folder / name, seed)
    write_pairs_tsv(folder / "pairs.tsv")
    (folder / "precheck.toml").write_text(
        '[defaults]\ndtypes = ["fp16"]\nfix = false\n' + tables, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def passing_project(tmp_path_factory):
    """Two tiny models that pass every gate, one of them with two storage precisions (one rescored,
    one not), a top-1 floor and a labelled set (--eval), sharded and whole."""
    folder = _project(tmp_path_factory.mktemp("passing"), (
        '[[models]]\nname = "models/tiny-a"\nstorage = ["float16", "binary"]\nmin_recall = 0.05\n'
        'min_top1_agreement = 0.05\nmin_spearman = 0.5\neval = "pairs.tsv"\nmax_metric_drop = 0.2\n'
        '[[models]]\nname = "models/tiny-b"\n'))
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        runs = [invoke("ci", "--shard", f"{k}/2", "--json", f"shard{k}.json", "-q") for k in (1, 2)]
        runs.append(invoke("ci", "--json", "whole.json", "-q"))
    assert [r.exit_code for r in runs] == [0, 0, 0], [r.stderr for r in runs]
    return folder


def _merge(folder: Path, *args: str):
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        return invoke("merge", *args)


def test_an_honest_passing_run_merges_to_a_pass(passing_project):
    assert _merge(passing_project, "shard1.json", "shard2.json").exit_code == 0
    assert _merge(passing_project, "shard1.json", "shard2.json", "--config", "precheck.toml").exit_code == 0


@pytest.mark.parametrize("figure", sorted(FAILING_VALUES))
def test_a_failing_gated_figure_fails_every_merge_and_the_verdict(passing_project, figure):
    from precheck.engine.verdict import judge
    from precheck.data.json import from_document
    from precheck.data.report import Report

    folder = passing_project
    for source, others in (("shard1.json", ["shard2.json"]), ("whole.json", [])):
        document = json.loads((folder / source).read_text(encoding="utf-8"))
        entry = next(m for m in document["models"] if m["name"] == "models/tiny-a")
        FAILING_VALUES[figure](entry["report"])  # the file still says passed: true
        tampered = folder / f"tampered-{figure}-{source}"
        tampered.write_text(json.dumps(document), encoding="utf-8")
        for config in ([], ["--config", "precheck.toml"]):
            merged = _merge(folder, tampered.name, *others, *config)
            assert merged.exit_code == 1, (figure, source, config, merged.stdout, merged.stderr)
        report = from_document(Report, copy.deepcopy(entry["report"]))
        verdict = judge(report)  # what scan, ci and merge call
        assert not verdict.passed and verdict.failures


@pytest.fixture(scope="module")
def storage_failing_project(tmp_path_factory):
    """The issue's project: tiny-a fails only its storage gate (binary, min_recall 1.0)."""
    folder = _project(tmp_path_factory.mktemp("storage-fails"), (
        '[[models]]\nname = "models/tiny-a"\nstorage = ["binary"]\nmin_recall = 1.0\n'
        '[[models]]\nname = "models/tiny-b"\n'))
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        runs = {
            "scan": invoke("scan", "models/tiny-a", "-d", "fp16", "--no-fix", "--storage", "binary", "--min-recall",
                           "1.0", "--json", "-", "-q"),
            "whole": invoke("ci", "--json", "whole.json", "--junit", "whole.xml", "--html", "whole.html",
                            "--summary", "whole.md"),
            "shard1": invoke("ci", "--shard", "1/2", "--json", "shard1.json", "-q"),
            "shard2": invoke("ci", "--shard", "2/2", "--json", "shard2.json", "-q"),
        }
        runs["merge"] = invoke("merge", "shard1.json", "shard2.json", "--json", "merged.json", "--junit", "merged.xml")
        runs["merge-config"] = invoke("merge", "shard1.json", "shard2.json", "--config", "precheck.toml")
        runs["merge-whole"] = invoke("merge", "whole.json")
    return folder, runs


def test_a_storage_only_failure_fails_scan_ci_and_every_merge(storage_failing_project):
    _, runs = storage_failing_project
    codes = {name: run.exit_code for name, run in runs.items()}
    assert codes == {"scan": 1, "whole": 1, "shard1": 1, "shard2": 0, "merge": 1, "merge-config": 1,
                     "merge-whole": 1}


def test_the_verdict_names_the_failing_storage_gate(storage_failing_project):
    _, runs = storage_failing_project
    verdict = runs["scan"].json()["verdict"]
    assert not verdict["passed"] and all(d["passed"] for d in verdict["dtypes"])
    assert any(line.startswith("storage binary") and "rescored" in line for line in verdict["failures"])


def test_a_merged_storage_failure_says_failed_in_its_json(storage_failing_project):
    folder, _ = storage_failing_project
    merged = json.loads((folder / "merged.json").read_text(encoding="utf-8"))
    assert merged["passed"] is False
    assert [m["passed"] for m in merged["models"]] == [False, True]


def _html_overview(page: str) -> dict[str, list[str]]:
    """The HTML page's overview: per model, the gate cell of each of its rows."""
    import re

    table = page.split('<section id="overview">', 1)[1].split("</section>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table)[1:]:
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
        model = re.sub(r"<[^>]+>", "", cells[0])
        rows.setdefault(model, []).append(re.sub(r"<[^>]+>", "", cells[2]))
    return rows


def test_the_html_overview_fails_a_model_that_fails_only_storage(storage_failing_project):
    folder, _ = storage_failing_project
    overview = _html_overview((folder / "whole.html").read_text(encoding="utf-8"))
    assert "FAIL" in overview["models/tiny-a"]
    assert set(overview["models/tiny-b"]) == {"PASS"}


def test_the_markdown_overview_fails_a_model_that_fails_only_storage(storage_failing_project):
    folder, _ = storage_failing_project
    text = (folder / "whole.md").read_text(encoding="utf-8")
    overview = text.split("| model | dtype or gate |", 1)[1].split("\n\n", 1)[0]
    gates = {}
    for line in overview.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        gates.setdefault(cells[0].strip("`"), []).append(cells[2])
    assert "FAIL" in gates["models/tiny-a"] and set(gates["models/tiny-b"]) == {"PASS"}
    assert "| `models/tiny-a` | storage float32 binary | FAIL |" in text


def test_junit_fails_a_model_that_fails_only_storage(storage_failing_project):
    import xml.etree.ElementTree as ET

    folder, _ = storage_failing_project
    cases = ET.parse(folder / "whole.xml").getroot().findall("testcase")
    failing = {c.get("classname") for c in cases if c.find("failure") is not None}
    assert failing == {"models/tiny-a"}


def test_the_terminal_grid_fails_a_model_that_fails_only_storage(storage_failing_project):
    _, runs = storage_failing_project
    lines = runs["whole"].stdout.splitlines()
    assert any("storage float32 binary" in line and "FAIL" in line for line in lines), runs["whole"].stdout
    assert "1 of 2 models pass; failing: models/tiny-a" in runs["whole"].stdout


def test_every_gate_case_passes_exactly_when_the_verdict_passes(storage_failing_project):
    from precheck.engine.verdict import gate_cases, judge
    from precheck.data.json import from_document
    from precheck.data.report import Report

    folder, _ = storage_failing_project
    for entry in json.loads((folder / "whole.json").read_text(encoding="utf-8"))["models"]:
        report = from_document(Report, copy.deepcopy(entry["report"]))
        report.verdict = judge(report)
        assert all(c.passed for c in gate_cases(report)) is report.verdict.passed is entry["passed"]
