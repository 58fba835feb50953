"""Every command has help text and a docs entry; the docs name every report key."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import invoke
from test_cli_startup import registered_commands

ROOT = Path(__file__).resolve().parent.parent
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
    from precheck.schema import REPORT_SCHEMA

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
