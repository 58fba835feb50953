"""What precheck writes (issue 10): whole or not at all, never over what it was not asked to
replace, and a clean loss for the second of two runs writing the same file."""
from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hardening_models
from cli_checks import assert_one_line_error, tree
from conftest import invoke
from warm_processes import WarmInterpreter

CODE = "from precheck.cli import main; main()"
CLI = [sys.executable, "-c", CODE]


def temporary_names(folder: Path) -> list[str]:
    return [name for name in os.listdir(folder) if ".precheck-" in name]


def environment() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")])}


@pytest.fixture(scope="module")
def warm():
    """precheck's runs as processes of their own forked from one interpreter that has imported the stack
    (tests/builders/warm_processes.py): the tests below are about what the process does once it runs."""
    interpreter = WarmInterpreter(environment())
    yield interpreter
    interpreter.close()


def _signals_as_a_shell_gives_them() -> None:
    # The child starts with SIGINT, SIGTERM and SIGHUP at their defaults whatever this process inherited
    # (a test run started in the background by a non-interactive shell ignores SIGINT, and an ignored
    # signal stays ignored across exec): a user's Ctrl-C reaches precheck as in a terminal.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def started_until(point: str, code: str, args: list, markers: Path, warm: WarmInterpreter | None = None):
    """precheck started with the test-only checkpoint at `point` (precheck/cli/_checkpoint.py), returned
    once it says it has reached it (it creates the marker file, then waits there for a signal): the
    signal a test sends next lands at that point on any machine, however loaded. `python -c code args`:
    forked from the warm interpreter when given one, else a fresh interpreter.

    No test sends a signal after a fixed sleep: one that lands while Python itself starts (importing
    `site`, before precheck's first line runs) is Python's, not precheck's, and may end in "Fatal Python
    error: init_import_site" with exit 1, which precheck cannot change; the earliest point here is
    precheck's own import."""
    marker = markers / f"reached-{point.split()[0]}"
    env = {**environment(), "PRECHECK_TEST_CHECKPOINT": f"{point}={marker}"}
    if warm is not None:
        process = warm.start(code, args, env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    else:
        process = subprocess.Popen([sys.executable, "-c", code, *map(str, args)], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True, env=env,
                                   preexec_fn=_signals_as_a_shell_gives_them)
    deadline = time.monotonic() + 600  # a bound for a run that never gets there, not a guess at speed
    while not marker.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"precheck ended before reaching {point!r}: {process.communicate()[1]}")
        time.sleep(0.05)
    return process


@pytest.mark.parametrize("signum, code, word, times", [(signal.SIGINT, 130, "interrupted", 1),
                                                       (signal.SIGTERM, 143, "terminated", 1),
                                                       (signal.SIGHUP, 129, "terminated", 1),
                                                       (signal.SIGINT, 130, "interrupted", 3)],
                         ids=["sigint", "sigterm", "sighup-closed-terminal", "sigint-three-times"])
def test_fix_interrupted_while_writing_leaves_nothing(tmp_path, tmp_path_factory, warm, tiny_model, tiny_texts,
                                                     signum, code, word, times):
    out = tmp_path / "fixed"
    # "reloading": the model is copied and precheck.json written into the staging folder.
    process = started_until("reloading", CODE, ["fix", tiny_model, "--out", out, "--texts", tiny_texts,
                                                "--device", "cpu"], tmp_path_factory.mktemp("markers"), warm)
    assert temporary_names(tmp_path), "the fix is built in a folder beside --out"
    for _ in range(times):  # more while the first one's cleanup runs
        process.send_signal(signum)
    stderr = process.communicate(timeout=300)[1]
    assert process.returncode == code, stderr
    assert stderr.strip().splitlines()[-1].startswith(f"precheck: {word}"), stderr
    assert "Traceback" not in stderr
    assert not out.exists() and temporary_names(tmp_path) == []


@pytest.mark.parametrize("point", ["import", "main", "loading float32 reference"],
                         ids=["importing-precheck", "reading-the-command-line", "loading-the-model"])
def test_interrupt_during_start_up_is_one_line_and_writes_nothing(tmp_path, tmp_path_factory, warm, tiny_model,
                                                                 tiny_texts, point):
    code = "import sys; sys.argv[0] = 'precheck'; from precheck.cli import main; main()"
    args = ["scan", tiny_model, "--texts", tiny_texts, "--json", tmp_path / "r.json", "--device", "cpu"]
    # While Python imports precheck or precheck reads its command line: a fresh interpreter. Loading the model,
    # precheck's own first step once the libraries are imported: a warm one.
    process = started_until(point, code, args, tmp_path_factory.mktemp("markers"),
                            warm if point == "loading float32 reference" else None)
    process.send_signal(signal.SIGINT)
    stderr = process.communicate(timeout=300)[1]
    # 130, or killed by the signal itself when it came while Python was still importing precheck.
    assert process.returncode in (130, -signal.SIGINT), stderr
    assert "Traceback" not in stderr and stderr.strip().splitlines()[-1].startswith("precheck: interrupted")
    assert os.listdir(tmp_path) == []


def test_scan_with_stdout_closed_is_exit_2_with_one_line(tmp_path, tiny_model):
    run = subprocess.run([*CLI, "scan", str(tiny_model), "--json", str(tmp_path / "r.json")], stderr=subprocess.PIPE,
                         text=True, env=environment(), preexec_fn=lambda: os.close(1), timeout=120)
    assert run.returncode == 2 and run.stderr.strip().splitlines() == [
        "precheck: error: stdout is closed (send it to a file or /dev/null instead)"]
    assert os.listdir(tmp_path) == []


def _with_reader_gone(args: list, warm: WarmInterpreter | None = None) -> tuple[int, str]:
    """precheck's exit code and stderr when what reads its stdout has gone, as `| head -1` does once it has
    its line: a fresh interpreter, or one forked from `warm`."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        if warm is not None:
            process = warm.start(CODE, args, environment(), stdout=writer, stderr=subprocess.PIPE)
            stderr = process.communicate(timeout=120)[1]
            return process.returncode, stderr
        run = subprocess.run([*CLI, *map(str, args)], stdout=writer, stderr=subprocess.PIPE, text=True,
                             env=environment(), timeout=120)
        return run.returncode, run.stderr
    finally:
        os.close(writer)


def test_scan_whose_reader_closed_stdout_is_exit_2_with_one_line(warm, tiny_model):
    code, stderr = _with_reader_gone(["scan", tiny_model, "--plan-only", "--device", "cpu"], warm)
    assert code == 2, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("precheck: error: stdout was closed")


def test_help_piped_into_head_is_quiet():
    code, stderr = _with_reader_gone(["scan", "--help"])
    assert code == 0 and stderr == ""


def test_scan_two_runs_with_the_same_json_do_not_both_succeed(tmp_path, warm, tiny_model, tiny_texts):
    target = tmp_path / "report.json"
    args = ["scan", tiny_model, "--texts", tiny_texts, "--json", target, "--no-fix", "--device", "cpu", "-q"]
    runs = [warm.start(CODE, args, environment(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            for _ in range(2)]
    results = [(run.wait(timeout=300), run.stderr.read()) for run in runs]
    assert sorted(code for code, _ in results) == [0, 2], results
    loser = next(err for code, err in results if code == 2)
    assert loser.strip().count("\n") == 0 and loser.startswith("precheck: error:")
    assert json.loads(target.read_text())["schema"].startswith("precheck")
    assert temporary_names(tmp_path) == []


def test_fix_force_replaces_a_link_at_out_and_leaves_its_target_alone(tmp_path, tiny_model, tiny_texts):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("mine\n")
    out = tmp_path / "out"
    out.symlink_to(elsewhere, target_is_directory=True)
    run = invoke("fix", tiny_model, "--out", out, "--force", "--texts", tiny_texts, "--device", "cpu", "-q")
    assert run.exit_code == 0, run.stderr
    assert not out.is_symlink() and (out / "precheck.json").is_file()
    assert os.listdir(elsewhere) == ["keep.txt"]
    assert temporary_names(tmp_path) == []


def test_fix_force_replaces_a_non_empty_out_whole(tmp_path, tiny_model, tiny_texts):
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.bin").write_bytes(b"old")
    run = invoke("fix", tiny_model, "--out", out, "--force", "--texts", tiny_texts, "--device", "cpu", "-q")
    assert run.exit_code == 0, run.stderr
    assert not (out / "stale.bin").exists() and (out / "precheck.json").is_file()
    assert temporary_names(tmp_path) == []


def test_fix_json_and_folder_are_both_written_and_the_plan_survives(tmp_path, tiny_model, tiny_texts):
    run = invoke("fix", tiny_model, "--out", tmp_path / "D", "--json", tmp_path / "fix.json", "--texts", tiny_texts,
                 "--device", "cpu", "-q")
    assert run.exit_code == 0, run.stderr
    assert json.loads((tmp_path / "D" / "precheck.json").read_text())["schema"].startswith("precheck.plan")
    assert json.loads((tmp_path / "fix.json").read_text())["done"] is True


def test_scan_json_is_written_with_no_temporary_file_left(tmp_path, tiny_model, tiny_texts):
    run = invoke("scan", tiny_model, "--texts", tiny_texts, "--json", tmp_path / "r.json", "--no-fix", "--device",
                 "cpu", "-q")
    assert run.exit_code == 0, run.stderr
    assert json.loads((tmp_path / "r.json").read_text())["verdict"]["passed"] is True
    assert temporary_names(tmp_path) == []


def test_scan_model_path_with_rich_markup_renders_and_writes_json(tmp_path, tiny_model, tiny_texts):
    model = tmp_path / "m[/bold][red]x"
    shutil.copytree(tiny_model, model)
    run = invoke("scan", model, "--texts", tiny_texts, "--json", tmp_path / "r.json", "--no-fix", "--device", "cpu")
    assert run.exit_code == 0, run.stderr
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    assert "m[/bold][red]x" in run.stdout
    assert json.loads((tmp_path / "r.json").read_text())["model"]["name"] == str(model)


def test_write_file_without_force_loses_to_a_file_created_meanwhile(tmp_path):
    from precheck.errors import PrecheckError
    from precheck.io.output_checks import Output, check_outputs
    from precheck.io.outputs import write_file

    target = tmp_path / "r.json"
    check_outputs([Output("--json", target)], force=False)
    target.write_text("the other run's\n")
    with pytest.raises(PrecheckError, match="created by someone else"):
        write_file(target, "mine\n", force=False)
    assert target.read_text() == "the other run's\n" and temporary_names(tmp_path) == []


def test_write_file_with_force_replaces_a_link_not_its_target(tmp_path):
    from precheck.io.outputs import write_file

    (tmp_path / "theirs.json").write_text("theirs\n")
    link = tmp_path / "r.json"
    link.symlink_to(tmp_path / "theirs.json")
    write_file(link, "mine\n", force=True)
    assert not link.is_symlink() and link.read_text() == "mine\n"
    assert (tmp_path / "theirs.json").read_text() == "theirs\n"


def test_ci_model_that_cannot_run_is_an_error_case_and_the_others_are_reported(tmp_path, tiny_model, tiny_texts):
    nan_model = hardening_models.build_nan_model(tiny_model, tmp_path / "nan")
    config = tmp_path / "precheck.toml"
    config.write_text(f'[defaults]\ntexts = "{tiny_texts}"\n' + "".join(
        f'[[models]]\nname = "{m}"\ndtypes = ["fp16"]\ndevice = "cpu"\nfix = false\n' for m in (nan_model, tiny_model)))
    run = invoke("ci", "--config", config, "--json", tmp_path / "ci.json", "--junit", tmp_path / "junit.xml", "-q")
    assert_one_line_error(run, "float32 itself is NaN/inf for every probe text")
    assert str(nan_model) in run.stderr
    document = json.loads((tmp_path / "ci.json").read_text())
    nan_run, healthy = document["models"]
    assert nan_run["error"] and nan_run["report"] is None
    assert healthy["passed"] is True and healthy["report"]["verdict"]["passed"] is True
    assert (tmp_path / "junit.xml").is_file()


def test_ci_relative_model_name_is_resolved_against_the_config_folder(tmp_path, tiny_model):
    sub = tmp_path / "sub"
    shutil.copytree(tiny_model, sub / "models" / "tiny")
    (sub / "texts.txt").write_text("hello world\nthe quick brown fox\n")
    config = sub / "precheck.toml"
    config.write_text('[[models]]\nname = "models/tiny"\ndtypes = ["fp16"]\ntexts = "texts.txt"\n'
                      'device = "cpu"\nfix = false\n')
    run = invoke("ci", "--config", config, "--json", "-", "-q")
    assert run.exit_code == 0, run.stderr
    model = run.json()["models"][0]
    assert model["name"] == "models/tiny" and model["report"]["model"]["path"] == str((sub / "models" / "tiny").resolve())


def test_scan_probe_with_nothing_finite_in_float32_is_never_ok(tiny_model):
    import torch

    from precheck.loading.resolve import resolve_model
    from precheck.data.report import Reference
    from precheck.engine.reference import Float32Reference
    from precheck.engine.scanner import ScanOptions, ScanSession

    options = ScanOptions(model=str(tiny_model), dtypes=("float16",), device="cpu")
    session = ScanSession(options, resolve_model(str(tiny_model)), "cpu", lambda _: None)
    session.float32 = Float32Reference(torch.full((2, 32), float("nan")), ["hello world", "the quick brown fox"],
                                       Reference(0.0, 0, 2, 32), [], [], None, "", [])
    result = session.run("float16", "load")
    assert result.status == "error" and result.error.type == "NothingCompared"


def test_scan_json_to_a_pipe_is_written_through_not_replaced(tmp_path, tiny_model, tiny_texts):
    import threading

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    received = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_text()))
    reader.start()
    run = invoke("scan", tiny_model, "--texts", tiny_texts, "--json", pipe, "--no-fix", "--device", "cpu", "-q")
    reader.join(timeout=300)
    assert run.exit_code == 0, run.stderr
    assert json.loads(received[0])["verdict"]["passed"] is True
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)


def test_fix_writes_its_weights_with_the_sources_mode_and_new_files_with_the_umasks(tiny_model, tiny_texts, tmp_path):
    # safetensors creates files 0600: a fixed copy in a shared cache would be unreadable to its other users.
    source = tmp_path / "shared" / "tiny"
    shutil.copytree(tiny_model, source)
    os.chmod(source / "model.safetensors", 0o664)
    out = tmp_path / "fixed"
    run = invoke("fix", source, "--dtype", "fp16", "--out", out, "--texts", tiny_texts, "--device", "cpu", "-q",
                 "--json", "-")
    assert run.exit_code == 0, run.stderr
    assert json.loads((out / "precheck.json").read_text())["weights_dtype"] == "float16"  # written anew
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(out / "model.safetensors").st_mode) == 0o664
    assert stat.S_IMODE(os.stat(out / "precheck.json").st_mode) == 0o666 & ~umask
    assert stat.S_IMODE(os.stat(out).st_mode) == stat.S_IMODE(os.stat(source).st_mode)
