"""What the test files share about precheck's command line: its one-line errors, the files around a
run (to show nothing was touched), small config pieces, and the registered commands."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

# A scan that only has to run: float16 alone, no fix search, on the CPU.
FAST = ("--no-fix", "-d", "fp16", "--device", "cpu")


def error_lines(stderr: str) -> list[str]:
    """stderr's non-blank lines without the progress lines (stderr is not a terminal under the runner)."""
    progress = [line for line in stderr.splitlines() if line.strip()]
    return [line for line in progress if not (line.startswith("precheck: ") and not line.startswith("precheck: error"))]


def assert_one_line_error(run, *needles: str, absent: str | None = None) -> str:
    """Exit 2 and exactly one error line (progress lines aside) holding every needle and not `absent`;
    no traceback, no internal error. Returns the line."""
    assert run.exit_code == 2, run.stderr
    lines = error_lines(run.stderr)
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("precheck: error:"), run.stderr
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    if absent is not None:
        assert absent not in lines[0], lines[0]
    return lines[0]


def tree(*roots: Path, contents: bool = False) -> dict[str, object]:
    """Names and sizes (with `contents`, also a digest) of everything under the roots; links as
    links, never followed."""
    seen: dict[str, object] = {}
    for root in roots:
        if os.path.islink(root):
            seen[str(root)] = f"-> {os.readlink(root)}"
            continue
        for folder, dirs, files in os.walk(root):
            seen[folder] = "dir"
            for name in dirs + files:
                path = os.path.join(folder, name)
                if os.path.islink(path):
                    seen[path] = f"-> {os.readlink(path)}"
                elif name in files:
                    seen[path] = (os.path.getsize(path), _digest(path)) if contents else os.path.getsize(path)
    return seen


def _digest(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def config(work: Path, body: str, name: str = "precheck.toml") -> Path:
    path = work / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return path


def model_entry(model: Path | str, texts: Path, dtypes: str = '["fp16"]') -> str:
    return f'[[models]]\nname = "{model}"\ndtypes = {dtypes}\ntexts = "{texts}"\nfix = false\n'


def existing(work: Path, name: str, text: str = "mine\n") -> Path:
    path = work / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def registered_commands() -> list[str]:
    """The command names as the app registers them (not a list kept by hand)."""
    from precheck.cli import app

    return sorted(c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands)


def command_flags(name: str) -> set[str]:
    """Every flag a command of the CLI takes."""
    import typer

    from precheck.cli import app

    command = typer.main.get_command(app).commands[name]
    return {flag for param in command.params for flag in getattr(param, "opts", ())}
