"""What precheck reads and writes (issue 19 §1, §4, §5): inputs are never outputs, whatever --force
says; outputs that cannot be written, streams, names at the file-system limit; inputs read once, bounded.

The table's rows: exit 2, exactly one stderr line (progress aside), no traceback, no "internal
error", every file around the paths involved unchanged (names, sizes, digests), no hidden temporary left.
"""
from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from typer.testing import CliRunner

import hub_cache
from cli_checks import FAST, assert_one_line_error, config, existing, model_entry, tree
from conftest import invoke

HUB_ID = "precheck-test/tiny-cached"


@pytest.fixture(scope="session")
def cached_snapshot(tiny_model, hf_home) -> Path:
    """tiny_model as a hub download leaves it in the session's HF_HOME: snapshot links to blobs."""
    return hub_cache.cache_model(tiny_model, hf_home, HUB_ID)


def digests(*roots: Path) -> dict[str, object]:
    """Names, sizes and contents of everything under the roots; links as links, never followed."""
    return tree(*roots, contents=True)


def temporaries(*roots: Path) -> list[str]:
    return [os.path.join(folder, name) for root in roots for folder, dirs, files in os.walk(root)
            for name in dirs + files if ".precheck-" in name]


# --- what rows set up: (work folder, tiny model, texts, cached snapshot) -> the command's arguments -----

def pyproject(work: Path, model: Path | str, texts: Path) -> Path:
    return config(work, f'[tool.precheck]\n[[tool.precheck.models]]\nname = "{model}"\ndtypes = ["fp16"]\n'
                        f'texts = "{texts}"\nfix = false\n', "pyproject.toml")


def shards(work: Path) -> list[Path]:
    """Two files in the place of shard reports: every row refuses before reading them."""
    return [existing(work, f"s{k}.json", '{"schema": "precheck.ci/1"}\n') for k in (1, 2)]


def with_baseline(work: Path) -> Path:
    return existing(work, "precheck-baseline.json", '{"schema": "precheck.baseline/1", "models": {}}\n')


def loop(work: Path) -> Path:
    (work / "loop").symlink_to("loop")
    return work / "loop"


def blob(snapshot: Path) -> Path:
    return Path(os.path.realpath(snapshot / "config.json"))


@dataclass(frozen=True)
class Row:
    id: str
    args: Callable[[Path, Path, Path, Path], list]
    needle: str
    absent: str | None = "--force"  # a refusal of an input never suggests --force


ROWS = [
    # §1: the seen failures, and their class: an output is, lies inside or contains an input.
    Row("merge-json-is-the-pyproject-force",
        lambda w, m, t, s: ["merge", *shards(w), "--json", pyproject(w, m, t), "--force"],
        "would overwrite the config file"),
    Row("merge-summary-is-the-pyproject-force",
        lambda w, m, t, s: ["merge", *shards(w), "--summary", pyproject(w, m, t), "--force"],
        "would overwrite the config file"),
    Row("merge-update-baseline-json-is-the-baseline-force",
        lambda w, m, t, s: ["merge", *shards(w), "--update-baseline", "--force",
                            "--json", with_baseline(w) if pyproject(w, m, t) else None],
        "same path"),
    Row("merge-junit-is-the-baseline-force",
        lambda w, m, t, s: ["merge", *shards(w), "--junit", with_baseline(w) if pyproject(w, m, t) else None,
                            "--force"],
        "would overwrite the baseline"),
    Row("merge-junit-is-the-baseline-without-force",
        lambda w, m, t, s: ["merge", *shards(w), "--junit", with_baseline(w) if pyproject(w, m, t) else None],
        "would overwrite the baseline"),
    Row("merge-json-is-a-shard-report-force",
        lambda w, m, t, s: ["merge", *shards(w), "--json", w / "s2.json", "--force"],
        "would overwrite the report 2"),
    Row("merge-json-folder-holds-a-report-force",
        lambda w, m, t, s: ["merge", existing(w, "r/s1.json"), "--json", w / "r", "--force"],
        "contains the report 1"),
    Row("scan-hub-id-json-is-the-cached-config-force",
        lambda w, m, t, s: ["scan", HUB_ID, "--json", s / "config.json", "--force"],
        f"is inside the Hugging Face cache of {HUB_ID}"),
    Row("scan-hub-id-json-is-a-blob-force",
        lambda w, m, t, s: ["scan", HUB_ID, "--json", blob(s), "--force"],
        f"is inside the Hugging Face cache of {HUB_ID}"),
    Row("scan-hub-id-summary-new-file-in-the-snapshot",
        lambda w, m, t, s: ["scan", HUB_ID, "--summary", s / "summary.md"],
        f"is inside the Hugging Face cache of {HUB_ID}"),
    Row("ci-junit-is-the-cached-modules-json-force",
        lambda w, m, t, s: ["ci", "--config", config(w, model_entry(HUB_ID, t)), "--junit", s / "modules.json",
                            "--force"],
        f"is inside the Hugging Face cache of {HUB_ID}"),
    Row("ci-update-baseline-into-the-model-folder",
        lambda w, m, t, s: ["ci", "--config", config(w, f'baseline = "{m}/b.json"\n' + model_entry(m, t)),
                            "--update-baseline"],
        "is inside the model folder"),
    Row("scan-json-new-file-inside-the-model-folder",
        lambda w, m, t, s: ["scan", m, "--json", m / "report.json"], "is inside the model folder"),
    Row("scan-summary-is-the-model-folder-force",
        lambda w, m, t, s: ["scan", m, "--summary", m, "--force"], "is the model folder"),
    Row("scan-json-contains-the-model-force",
        lambda w, m, t, s: ["scan", m, "--json", m.parent, "--force"], "contains the model folder"),
    Row("train-check-json-inside-the-model-folder-force",
        lambda w, m, t, s: ["train-check", m, "--json", m / "1_Pooling" / "t.json", "--force"],
        "is inside the model folder"),
    Row("fix-out-inside-the-cached-snapshot-force",
        lambda w, m, t, s: ["fix", HUB_ID, "--out", s / "fixed", "--force"], "is inside the"),
    # §4: "-" is stdout for every file output; two outputs on one stream are refused before work.
    Row("scan-json-dash-and-summary-dev-stdout",
        lambda w, m, t, s: ["scan", m, "--json", "-", "--summary", "/dev/stdout"], "both write to one stream"),
    Row("scan-json-dash-and-summary-dash",
        lambda w, m, t, s: ["scan", m, "--json", "-", "--summary", "-"], "both write to one stream"),
    Row("ci-json-dash-and-junit-dev-stdout",
        lambda w, m, t, s: ["ci", "--config", config(w, model_entry(m, t)), "--json", "-", "--junit", "/dev/stdout"],
        "both write to one stream"),
    Row("merge-junit-dash-and-summary-dash",
        lambda w, m, t, s: ["merge", *shards(w), "--junit", "-", "--summary", "-"], "both write to one stream"),
    Row("fix-out-dash", lambda w, m, t, s: ["fix", m, "--out", "-"], "a folder cannot go to stdout"),
    Row("scan-json-to-a-full-device",
        lambda w, m, t, s: ["scan", m, "--texts", t, *FAST, "-q", "--json", "/dev/full"],
        "No space left on device", absent="internal error"),
    Row("scan-summary-to-a-full-device",
        lambda w, m, t, s: ["scan", m, "--texts", t, *FAST, "-q", "--summary", "/dev/full"],
        "No space left on device", absent="internal error"),
    # §5: inputs read once into memory, never past 64 MiB; paths that cannot be a model are named.
    Row("scan-texts-dev-zero", lambda w, m, t, s: ["scan", m, "--texts", "/dev/zero"], "larger than 64 MiB"),
    Row("scan-texts-file-over-the-limit",
        lambda w, m, t, s: ["scan", m, "--texts", sparse(w / "big.txt")], "larger than 64 MiB"),
    Row("scan-pairs-dev-zero", lambda w, m, t, s: ["scan", m, "--kind", "cross-encoder", "--pairs", "/dev/zero"],
        "larger than 64 MiB"),
    Row("train-check-data-dev-zero", lambda w, m, t, s: ["train-check", m, "--data", "/dev/zero"],
        "larger than 64 MiB"),
    Row("scan-texts-is-a-folder", lambda w, m, t, s: ["scan", m, "--texts", w], "is a folder, not a file"),
    Row("scan-model-is-a-symlink-loop", lambda w, m, t, s: ["scan", loop(w)], "loop of symbolic links"),
    Row("scan-model-relative-symlink-loop", lambda w, m, t, s: ["scan", "loop"] if loop(w) else [],
        "loop of symbolic links"),
    Row("scan-model-under-a-regular-file",
        lambda w, m, t, s: ["scan", existing(w, "file.txt") / "x"], "file.txt is a file, not a folder"),
    Row("scan-hub-shaped-model-under-a-regular-file",
        lambda w, m, t, s: ["scan", "file.txt/x"] if existing(w, "file.txt") else [], "is a file, not a folder"),
]


def sparse(path: Path) -> Path:
    with open(path, "wb") as handle:
        handle.truncate(64 * 1024 * 1024 + 1)
    return path


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_read_or_write_refusal_is_one_line_and_touches_no_file(row, tmp_path, monkeypatch, tiny_model, tiny_texts,
                                                               cached_snapshot):
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    args = row.args(tmp_path / "work", tiny_model, tiny_texts, cached_snapshot)
    # The cache's repo folder: snapshots, blobs and refs.
    watched = (tmp_path / "work", tiny_model, tiny_texts.parent, cached_snapshot.parents[1])
    before = digests(*watched)
    assert_one_line_error(invoke(*args), row.needle, absent=row.absent)
    assert digests(*watched) == before
    assert temporaries(*watched) == []


# --- outputs that succeed: "-" for every file output, names at the limit, narrow terminals -------------

def test_scan_summary_dash_goes_to_stdout_and_creates_no_file(tmp_path, monkeypatch, tiny_model, tiny_texts):
    monkeypatch.chdir(tmp_path)
    run = invoke("scan", tiny_model, "--texts", tiny_texts, *FAST, "--summary", "-", "--json", tmp_path / "r.json")
    assert run.exit_code == 0, run.stderr
    # Only the Markdown: the view makes way for it, as it does for --json -.
    assert run.stdout.startswith("### precheck scan") and "| float16 | ok |" in run.stdout
    assert os.listdir(tmp_path) == ["r.json"]


def test_write_file_takes_a_name_of_240_characters(tmp_path):
    from precheck.io.outputs import write_file

    target = tmp_path / ("r" * 236 + ".json")
    write_file(target, "{}\n", force=False)
    write_file(target, "[]\n", force=True)
    assert target.read_text() == "[]\n" and temporaries(tmp_path) == []


def test_fix_staging_folder_name_stays_within_the_limit(tmp_path):
    from precheck.io.outputs import publish_folder, staged_folder

    out = tmp_path / ("o" * 240)
    out.mkdir()
    (out / "old.txt").write_text("old")
    with staged_folder(out) as staging:
        assert len(staging.name.encode()) <= 255
        (staging / "new.txt").write_text("new")
        publish_folder(staging, out, force=True)
    assert os.listdir(out) == ["new.txt"] and temporaries(tmp_path) == []


def test_scan_view_with_zero_columns_still_prints_the_verdict(monkeypatch, tiny_model, tiny_texts):
    monkeypatch.setenv("COLUMNS", "0")
    run = invoke("scan", tiny_model, "--texts", tiny_texts, *FAST)
    assert run.exit_code == 0, run.stderr
    assert "PASS float16" in run.stdout and "Test runs against float32" in run.stdout


def test_scan_view_on_an_ascii_terminal_degrades_and_prints_the_verdict(tmp_path, tiny_model, tiny_texts):
    from precheck.cli import app

    path = tmp_path / "r.json"
    result = CliRunner(charset="ascii").invoke(app, ["scan", str(tiny_model), "--texts", str(tiny_texts), *FAST,
                                                     "--json", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert "PASS float16" in result.stdout and "internal error" not in result.stderr
    assert json.loads(path.read_text(encoding="utf-8"))["verdict"]["passed"] is True


# --- inputs read once ------------------------------------------------------------------------------------

def test_scan_reads_texts_from_a_pipe_once(tmp_path, tiny_model):
    pipe = tmp_path / "texts"
    os.mkfifo(pipe)
    writer = threading.Thread(target=lambda: pipe.write_text("hello world\nthe quick brown fox\nhow are you\n"))
    writer.start()
    run = invoke("scan", tiny_model, "--texts", pipe, *FAST, "-q", "--json", "-")
    writer.join(timeout=300)
    assert run.exit_code == 0, run.stderr
    assert run.json()["settings"]["probe_items"] == 3


# --- every output option of every command, found from the command line itself ---------------------------

def output_options() -> list[tuple[str, str]]:
    """(command, option) for each option that writes a file or folder: its help says "write".
    A new command or output option is tried here without anyone adding a row."""
    import typer

    from precheck.cli import app

    group = typer.main.get_command(app)
    return [(name, param.opts[0]) for name, command in sorted(group.commands.items()) for param in command.params
            if "write" in (getattr(param, "help", "") or "").lower() and not getattr(param, "is_flag", False)]


def over_an_input(command: str, option: str, work: Path, model: Path, texts: Path) -> tuple[list, str]:
    """The command's arguments with `option` aimed at one of its inputs, and the word the refusal says."""
    if command in ("ci", "merge"):
        project = config(work, model_entry(model, texts))
        reports = [existing(work, "s1.json")] if command == "merge" else []
        return [command, *reports, "--config", project, option, project, "--force"], "the config file"
    extra = ["--out", work / "out"] if command == "fix" and option != "--out" else []
    return [command, model, *extra, option, model / "written", "--force"], "inside the model folder"


def test_every_output_option_is_listed():
    assert set(output_options()) >= {("scan", "--json"), ("scan", "--summary"), ("fix", "--out"), ("fix", "--json"),
                                     ("train-check", "--json"), ("ci", "--json"), ("ci", "--junit"),
                                     ("ci", "--summary"), ("merge", "--json"), ("merge", "--junit"),
                                     ("merge", "--summary")}


@pytest.mark.parametrize("command, option", output_options(), ids=[f"{c}{o}" for c, o in output_options()])
def test_every_output_option_refuses_an_input_whatever_force_says(command, option, tmp_path, monkeypatch, tiny_model,
                                                                  tiny_texts):
    monkeypatch.chdir(tmp_path)
    args, needle = over_an_input(command, option, tmp_path, tiny_model, tiny_texts)
    before = digests(tmp_path, tiny_model)
    assert_one_line_error(invoke(*args), needle, absent="--force")
    assert digests(tmp_path, tiny_model) == before and temporaries(tmp_path, tiny_model) == []


def test_github_step_summary_pointing_at_the_config_is_refused_before_any_work(tmp_path, monkeypatch, tiny_model,
                                                                               tiny_texts):
    monkeypatch.chdir(tmp_path)
    project = config(tmp_path, model_entry(tiny_model, tiny_texts))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(project))
    before = digests(tmp_path, tiny_model)
    assert_one_line_error(invoke("ci", "--config", project), "$GITHUB_STEP_SUMMARY", absent="--force")
    assert digests(tmp_path, tiny_model) == before
