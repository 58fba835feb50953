"""Bad and unusual inputs across scan, fix, train-check and ci (issue 10): one table.

Every row: exit 2, exactly one line on stderr (progress lines aside), no traceback, no
"internal error", and the files around the paths involved exactly as they were.
Most rows fail on their paths, before any model loads.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

import hardening_models
from cli_checks import assert_one_line_error, config, existing, model_entry, tree
from conftest import invoke

BASELINE_SCHEMA = "precheck.baseline/1"


# --- what each row sets up: (work folder, tiny model, texts) -> the command's arguments ---------------

def copied_model(work: Path, model: Path, where: str = "model") -> Path:
    target = work / where
    shutil.copytree(model, target)
    return target


def project(work: Path, model: Path) -> Path:
    """./proj/model with the user's notes beside it, as in issue 10's first report."""
    inside = copied_model(work, model, "proj/model")
    (work / "proj" / "notes.txt").write_text("mine\n")
    return inside


def baseline(work: Path, models: object) -> Path:
    path = work / "precheck-baseline.json"
    path.write_text(json.dumps({"schema": BASELINE_SCHEMA, "models": models}))
    return path


def linked(work: Path, name: str, to: Path) -> Path:
    link = work / name
    link.symlink_to(to, target_is_directory=to.is_dir())
    return link


def broken_json(model: Path, work: Path, file: str, change) -> Path:
    folder = copied_model(work, model)
    hardening_models.edit_json(folder / file, change)
    return folder


def set_first_module_type(data) -> None:
    data[0]["type"] = 5


@dataclass(frozen=True)
class Row:
    id: str
    args: Callable[[Path, Path, Path], list]
    needle: str
    absent: str | None = None


ROWS = [
    # 1: --out that contains the model folder: refused before any work, whatever --force says.
    Row("fix-out-contains-model-force", lambda w, m, t: ["fix", project(w, m), "--out", w / "proj", "--force"],
        "contains the model folder", absent="--force"),
    Row("fix-out-contains-model", lambda w, m, t: ["fix", project(w, m), "--out", w / "proj"],
        "contains the model folder", absent="--force"),
    Row("fix-out-is-model-force", lambda w, m, t: ["fix", copied_model(w, m), "--out", w / "model", "--force"],
        "is the model folder", absent="--force"),
    Row("fix-out-is-model-spelled-differently",
        lambda w, m, t: ["fix", copied_model(w, m), "--out", w / "model" / ".." / "model" / ".", "--force"],
        "is the model folder", absent="--force"),
    # 2: --out inside the model folder.
    Row("fix-out-inside-model-pooling", lambda w, m, t: ["fix", copied_model(w, m), "--out",
                                                         w / "model" / "1_Pooling" / "fixed"],
        "inside the model folder", absent="--force"),
    Row("fix-out-inside-model-force", lambda w, m, t: ["fix", copied_model(w, m), "--out", w / "model" / "fixed",
                                                       "--force"],
        "inside the model folder", absent="--force"),
    # 4: links: resolved before comparing, and never followed by --force.
    Row("fix-out-link-to-model-force", lambda w, m, t: ["fix", copied_model(w, m), "--out",
                                                        linked(w, "out", w / "model"), "--force"],
        "is the model folder"),
    Row("fix-out-link-to-parent-of-model", lambda w, m, t: ["fix", project(w, m), "--out",
                                                            linked(w, "out", w / "proj"), "--force"],
        "contains the model folder"),
    Row("fix-out-link-without-force",
        lambda w, m, t: ["fix", m, "--out", linked(w, "out", existing(w, "elsewhere/keep.txt").parent)],
        "symbolic link"),
    Row("fix-model-is-link-and-out-its-target-parent",
        lambda w, m, t: ["fix", linked(w, "m-link", copied_model(w, m, "real/model")), "--out", w / "real", "--force"],
        "contains the model folder"),
    # 5: two outputs of one command, or an output that is an input.
    Row("fix-json-inside-out", lambda w, m, t: ["fix", m, "--out", w / "D", "--json", w / "D" / "precheck.json"],
        "inside --out"),
    Row("fix-json-is-out", lambda w, m, t: ["fix", m, "--out", w / "D", "--json", w / "D"], "same path"),
    Row("fix-texts-inside-out-force",
        lambda w, m, t: ["fix", m, "--out", w / "D", "--force", "--texts", existing(w, "D/t.txt", "a\nb\n")],
        "contains the --texts file"),
    Row("ci-json-and-junit-same-path",
        lambda w, m, t: ["ci", "--config", config(w, model_entry(m, t)), "--json", w / "x", "--junit", w / "x"],
        "same path"),
    Row("ci-json-and-junit-same-path-via-link",
        lambda w, m, t: ["ci", "--config", config(w, model_entry(m, t)), "--json", w / "x",
                         "--junit", linked(w, "x-link", w / "x")],
        "same path"),
    Row("ci-json-is-the-config-force",
        lambda w, m, t: ["ci", "--config", config(w, model_entry(m, t)), "--json", w / "precheck.toml", "--force"],
        "would overwrite the config file"),
    Row("ci-json-is-the-baseline-force",
        lambda w, m, t: ["ci", "--config", config(w, model_entry(m, t)), "--force",
                         "--json", baseline(w, {})],
        "would overwrite the baseline"),
    Row("ci-update-baseline-json-is-the-baseline",
        lambda w, m, t: ["ci", "--config", config(w, model_entry(m, t)), "--update-baseline",
                         "--json", w / "precheck-baseline.json"],
        "same path"),
    Row("ci-junit-is-a-texts-file-force",
        lambda w, m, t: ["ci", "--config", config(w, model_entry(m, t)), "--junit", t, "--force"],
        "would overwrite the texts file"),
    Row("scan-json-is-the-texts-file-force", lambda w, m, t: ["scan", m, "--texts", t, "--json", t, "--force"],
        "would overwrite the --texts file"),
    Row("scan-json-replaces-a-model-file-force",
        lambda w, m, t: ["scan", copied_model(w, m), "--json", w / "model" / "config.json", "--force"],
        "is inside the model folder"),
    Row("train-check-json-is-the-data-file-force",
        lambda w, m, t: ["train-check", m, "--data", existing(w, "d.csv", "query,passage,label\n"), "--json",
                         w / "d.csv", "--force"],
        "would overwrite the --data file"),
    # Existing targets without --force, and targets of the wrong type.
    Row("fix-out-not-empty", lambda w, m, t: ["fix", m, "--out", existing(w, "D/keep.txt").parent], "not empty"),
    Row("fix-out-is-a-file", lambda w, m, t: ["fix", m, "--out", existing(w, "out")], "is a file"),
    Row("fix-out-folder-missing", lambda w, m, t: ["fix", m, "--out", w / "no" / "out"], "does not exist"),
    Row("fix-hub-model-not-cached", lambda w, m, t: ["fix", "someone/not-cached", "--out", w / "out"],
        "HF_HUB_OFFLINE"),
    Row("scan-json-exists", lambda w, m, t: ["scan", m, "--json", existing(w, "r.json")], "already exists"),
    Row("scan-json-is-a-folder", lambda w, m, t: ["scan", m, "--json", w], "is a folder"),
    Row("scan-json-folder-missing", lambda w, m, t: ["scan", m, "--json", w / "no" / "r.json"], "does not exist"),
    Row("ci-junit-exists", lambda w, m, t: ["ci", "--config", config(w, model_entry(m, t)), "--junit",
                                            existing(w, "j.xml")], "already exists"),
    # 7: unwritable targets: answered before the scan.
    Row("scan-json-in-proc", lambda w, m, t: ["scan", m, "--json", "/proc/precheck-report.json"], "cannot write"),
    Row("scan-json-in-sys", lambda w, m, t: ["scan", m, "--json", "/sys/precheck-report.json"], "cannot write"),
    Row("fix-out-in-proc", lambda w, m, t: ["fix", m, "--out", "/proc/precheck-fixed"], "cannot write"),
    Row("ci-junit-in-proc-json-writable",
        lambda w, m, t: ["ci", "--config", config(w, model_entry(m, t)), "--json", w / "r.json",
                         "--junit", "/proc/precheck.xml"],
        "cannot write"),
    Row("ci-update-baseline-in-proc",
        lambda w, m, t: ["ci", "--config", config(w, 'baseline = "/proc/precheck-baseline.json"\n'
                                                  + model_entry(m, t)), "--update-baseline"],
        "cannot write"),
    Row("train-check-json-in-proc", lambda w, m, t: ["train-check", m, "--json", "/proc/t.json"], "cannot write"),
    # 8: gates that would test nothing.
    Row("scan-dtype-empty", lambda w, m, t: ["scan", m, "--dtype", ""], "no dtype"),
    Row("scan-dtype-comma", lambda w, m, t: ["scan", m, "--dtype", ","], "no dtype"),
    Row("scan-dtype-spaces-and-commas", lambda w, m, t: ["scan", m, "-d", " , ", "-d", ""], "no dtype"),
    Row("fix-dtype-empty", lambda w, m, t: ["fix", m, "--out", w / "out", "--dtype", ""], "unknown dtype"),
    Row("ci-config-dtypes-empty-string",
        lambda w, m, t: ["ci", "--config", config(w, model_entry(m, t, '[""]'))], "no dtype"),
    Row("ci-config-dtypes-comma", lambda w, m, t: ["ci", "--config", config(w, model_entry(m, t, '[","]'))],
        "no dtype"),
    # 9 and 10: nothing to compare (these load the model).
    Row("scan-float32-nan-everywhere",
        lambda w, m, t: ["scan", hardening_models.build_nan_model(m, w / "nan"), "--texts", t, "--no-fix"],
        "float32 itself is NaN/inf for every probe text"),
    Row("scan-tokenizer-files-missing",
        lambda w, m, t: ["scan", hardening_models.copy_without_tokenizer(m, w / "notok"), "--no-fix"],
        "cannot be the model's"),
    Row("fix-tokenizer-files-missing",
        lambda w, m, t: ["fix", hardening_models.copy_without_tokenizer(m, w / "notok"), "--out", w / "out"],
        "tokenizer.json"),
    # 12: files that are valid JSON / TOML with the wrong shapes.
    Row("ci-baseline-models-wrong-type",
        lambda w, m, t: ["ci", "--config", config(w, model_entry(m, t))] if baseline(w, {str(m): [1]}) else [],
        "should be an object of dtypes"),
    Row("ci-baseline-figure-wrong-type",
        lambda w, m, t: ["ci", "--config", config(w, model_entry(m, t))]
        if baseline(w, {str(m): {"float16": {"status": "ok", "min_cosine": "high"}}}) else [],
        "min_cosine should be a number"),
    Row("ci-baseline-not-a-baseline",
        lambda w, m, t: ["ci", "--config", config(w, model_entry(m, t))]
        if existing(w, "precheck-baseline.json", "[1, 2]") else [],
        "is not a precheck baseline"),
    Row("scan-auto-map-is-a-list",
        lambda w, m, t: ["scan", broken_json(m, w, "config.json", lambda d: d.update(auto_map=["AutoModel"]))],
        "auto_map should be a mapping", absent="--trust-remote-code"),
    Row("scan-auto-map-is-a-string",
        lambda w, m, t: ["scan", broken_json(m, w, "config.json", lambda d: d.update(auto_map="x.Y"))],
        "auto_map should be a mapping", absent="--trust-remote-code"),
    Row("scan-modules-json-type-is-a-number",
        lambda w, m, t: ["scan", broken_json(m, w, "modules.json", set_first_module_type)],
        "modules.json is corrupt", absent="--trust-remote-code"),
    Row("scan-modules-json-entry-is-a-number",
        lambda w, m, t: ["scan", broken_json(m, w, "modules.json", lambda d: d.append(7))],
        "modules.json is corrupt", absent="--trust-remote-code"),
    Row("ci-pyproject-tool-is-a-string",
        lambda w, m, t: ["ci", "--config", config(w, 'tool = "x"\n', "pyproject.toml")], "tool should be a table"),
    Row("ci-pyproject-tool-precheck-is-a-number",
        lambda w, m, t: ["ci", "--config", config(w, "[tool]\nprecheck = 5\n", "pyproject.toml")],
        "tool.precheck should be a table"),
    # 13 and 14: relative names against the config's folder; a model that cannot run is one line.
    Row("ci-relative-model-name-resolved-against-config",
        lambda w, m, t: ["ci", "--config", config(w, model_entry("./missing-model", t), "sub/precheck.toml")],
        str(Path("sub") / "missing-model")),
    Row("scan-model-empty", lambda w, m, t: ["scan", ""], "MODEL is empty"),
    # Found besides: unset variables, the current folder, names no file system takes.
    Row("scan-json-empty", lambda w, m, t: ["scan", m, "--json", ""], "--json is empty"),
    Row("fix-json-empty", lambda w, m, t: ["fix", m, "--out", w / "out", "--json", ""], "--json is empty"),
    Row("fix-out-is-current-folder-force", lambda w, m, t: ["fix", m, "--out", ".", "--force"],
        "is or contains the current folder"),
    Row("fix-out-empty-is-current-folder-force", lambda w, m, t: ["fix", m, "--out", "", "--force"],
        "is or contains the current folder"),
    Row("fix-out-contains-current-folder-force", lambda w, m, t: ["fix", m, "--out", w.parent, "--force"],
        "is or contains the current folder"),
    Row("scan-model-name-too-long", lambda w, m, t: ["scan", "m" * 300], "File name too long"),
    Row("scan-json-name-too-long", lambda w, m, t: ["scan", m, "--json", w / ("r" * 300)], "File name too long"),
    Row("ci-config-is-a-folder", lambda w, m, t: ["ci", "--config", w], "is not a file"),
    Row("ci-config-model-name-empty", lambda w, m, t: ["ci", "--config", config(w, '[[models]]\nname = ""\n')],
        "name is empty"),
    Row("ci-config-baseline-empty", lambda w, m, t: ["ci", "--config", config(w, 'baseline = ""\n'
                                                                             + model_entry(m, t))],
        "baseline should be a file path string"),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_bad_input_exits_2_with_one_line_and_touches_no_file(row, tmp_path, tiny_model, tiny_texts):
    work = tmp_path / "work"
    work.mkdir()
    args = row.args(work, tiny_model, tiny_texts)
    watched = (work, tiny_model, tiny_texts.parent)
    before = tree(*watched)
    cwd = os.getcwd()
    os.chdir(work)
    try:
        run = invoke(*args)
    finally:
        os.chdir(cwd)
    assert_one_line_error(run, row.needle, absent=row.absent)
    assert tree(*watched) == before


def test_bad_input_table_covers_at_least_forty_rows():
    assert len(ROWS) >= 40
