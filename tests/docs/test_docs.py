"""Every command has help text and a docs entry; the docs name every report key."""
from __future__ import annotations

from pathlib import Path

import pytest

from cli_checks import registered_commands
from conftest import invoke

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = registered_commands()


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_text(command):
    run = invoke(command, "--help")
    assert run.exit_code == 0
    assert "Usage" in run.stdout and len(run.stdout) > 200


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_in_the_docs(command):
    docs = "".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))
    # In a command line of a code block: `precheck <command> ` followed by its arguments.
    assert f"precheck {command} " in docs
    assert command in {line.split()[1] for line in docs.splitlines() if line.startswith("precheck ") and len(line.split()) > 1}


def test_report_schema_doc_names_every_top_level_key():
    from precheck.data.schema import REPORT_SCHEMA

    text = (ROOT / "docs" / "report-schema.md").read_text()
    for key in REPORT_SCHEMA["properties"]:
        assert f"`{key}" in text, key


def test_ci_runs_the_readme_test_command():
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()
    assert "scripts/test" in (ROOT / "README.md").read_text()


def test_ci_docs_name_every_config_key():
    from precheck.gate.config import MODEL_KEYS, TOP_KEYS

    text = (ROOT / "docs" / "ci.md").read_text()
    for key in [*MODEL_KEYS, *TOP_KEYS]:
        # As a key in backticks, not a common word of the prose ("name", "kind", "fix").
        assert f"`{key}" in text, key


def _toml_examples() -> list[str]:
    blocks = []
    for page in sorted((ROOT / "docs").glob("*.md")):
        parts = page.read_text().split("```toml\n")[1:]
        blocks += [part.split("```", 1)[0] for part in parts]
    return blocks


@pytest.mark.parametrize("example", _toml_examples())
def test_every_toml_example_in_the_docs_is_a_config_precheck_accepts(example, tmp_path):
    # A user copies these into pyproject.toml: a key the parser does not know would exit 2 there.
    from precheck.gate.config import find_config, parse_config

    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(example, encoding="utf-8")
    path, section = find_config(pyproject, tmp_path)
    assert parse_config(path, section).models


def _ci_example() -> tuple[str, str]:
    """docs/ci.md's project config (the first TOML block under "The config") and the paragraph after
    it that says what the config gives."""
    section = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8").split("## The config", 1)[1]
    config, rest = section.split("```toml\n", 1)[1].split("```", 1)
    return config, rest.split("```", 1)[0]


def test_the_ci_docs_example_config_runs_as_written_and_gives_what_it_says(tmp_path, monkeypatch):
    import json

    config, says = _ci_example()
    (tmp_path / "pyproject.toml").write_text(config, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    run = invoke("ci", "--json", "report.json", "-q")
    assert run.exit_code == 0, run.stderr
    assert "exit 0" in says and "1 of 1 model passes" in says
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["models"][0]["report"]
    for result in (r for r in report["results"] if r["strategy"] == "load"):
        assert f"{result['min_cosine']:.6f}" in says, result["dtype"]
    rows = {(r["model_dtype"], r["precision"]): r for r in report["storage"]["results"]}
    for model_dtype in ("float32", "float16", "bfloat16"):
        assert f"{rows[model_dtype, 'ubinary']['recall_at_10_rescored']:.3f}" in says
    assert f"{rows['float32', 'int8']['recall_at_10_rescored']:.3f} (float32 model)" in says
    assert (tmp_path / "precheck-report.html").is_file()  # the config's html key


def _documented_minilm_rows() -> dict[str, list[str]]:
    """docs/quantization.md's table "Measured on all-MiniLM-L6-v2", by precision."""
    section = (ROOT / "docs" / "quantization.md").read_text(encoding="utf-8").split("## Measured on all-MiniLM", 1)[1]
    rows = {}
    table = section.split("| precision |", 1)[1].split("\n\n", 1)[0]
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0].strip("`")] = cells
    return rows


def test_the_quantization_docs_minilm_figures_are_what_the_scan_prints(tmp_path):
    run = invoke("scan", "sentence-transformers/all-MiniLM-L6-v2", "--dtype", "bf16,int8", "--no-fix",
                 "--json", tmp_path / "report.json", "-q")
    assert run.exit_code == 0, run.stderr
    import json

    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    documented = _documented_minilm_rows()
    texts = report["settings"]["probe_items"]
    for result in (r for r in report["results"] if r["strategy"] == "load"):
        _, min_cosine, mean_cosine, top1, *_ = documented[result["dtype"]]
        assert abs(result["min_cosine"] - float(min_cosine)) < 1e-3, result["dtype"]
        assert abs(result["mean_cosine"] - float(mean_cosine)) < 1e-3, result["dtype"]
        assert abs(result["top1_agreement"] - float(top1.rstrip("%")) / 100) <= 1 / texts + 0.005, result["dtype"]
