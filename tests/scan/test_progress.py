"""Progress: a bar with items done / total on a terminal; the core counts items only for such a display."""
from __future__ import annotations

import io


class _Recorder:
    """A display that draws bars: it records what the core tells it."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.items: list[tuple[str, int, int]] = []

    def __call__(self, message: str) -> None:
        self.messages.append(message)

    def items_done(self, label: str, done: int, total: int) -> None:
        self.items.append((label, done, total))


def test_scan_reports_items_done_per_run_up_to_the_total(plain_model, probe_file):
    from precheck.engine.scanner import ScanOptions, run_scan

    recorder = _Recorder()
    run_scan(ScanOptions(model=str(plain_model), dtypes=("bfloat16",), texts_file=probe_file, device="cpu",
                         fix=False, batch_size=3), recorder)
    last = {}
    for label, done, total in recorder.items:
        assert 0 <= done <= total
        last[label] = (done, total)
    # float32 and bfloat16 (load) are encoded; bfloat16 (cast) has load's weights and is not.
    assert last == {"float32": (8, 8), "bfloat16 (load)": (8, 8)}
    assert [done for label, done, _ in recorder.items if label == "float32"] == [0, 3, 6, 8]


def test_progress_display_on_a_terminal_draws_items_done_of_total():
    from rich.console import Console

    from precheck.cli._progress import progress_display

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    with progress_display(console, quiet=False) as progress:
        progress("loading float32 reference")
        progress.items_done("float16 (load)", 0, 32)
        progress.items_done("float16 (load)", 16, 32)
        console.print(progress.bar.get_renderable())
    assert "16/32" in out.getvalue()
    assert "float16 (load): probe items" in out.getvalue()


def test_progress_display_off_a_terminal_prints_plain_lines_and_no_counts_for_a_short_encode():
    from rich.console import Console

    from precheck.cli._progress import progress_display

    out = io.StringIO()
    with progress_display(Console(file=out, width=100), quiet=False) as progress:
        progress("loading float32 reference")
        progress.items_done("float32", 0, 32)
        progress.items_done("float32", 32, 32)
    assert out.getvalue() == "precheck: loading float32 reference\n"


def test_a_progress_line_longer_than_the_console_keeps_its_prefix_on_one_line():
    from rich.console import Console

    from precheck.cli._progress import progress_display

    message = "loading float16 /home/someone/a/long/path/to/models/" + "x" * 60 + "/all-MiniLM-L6-v2"
    out = io.StringIO()
    with progress_display(Console(file=out, width=80), quiet=False) as progress:
        progress(message)
    assert out.getvalue() == f"precheck: {message}\n"


def test_progress_lines_for_a_long_encode_give_counts_and_time_left_every_30_seconds():
    from precheck.cli._progress import _ProgressLines

    lines, now = [], [0.0]
    progress = _ProgressLines(lines.append, clock=lambda: now[0])
    progress("float32: running 100000 texts")
    progress.items_done("float32", 0, 100_000)
    for second, done in ((10, 5_000), (31, 20_000), (40, 25_000), (62, 40_000), (95, 60_000)):
        now[0] = second
        progress.items_done("float32", done, 100_000)
    assert lines == ["float32: running 100000 texts",
                     "float32: 20,000/100,000 probe items, about 2m 04s left",
                     "float32: 40,000/100,000 probe items, about 1m 33s left",
                     "float32: 60,000/100,000 probe items, about 1m 03s left"]
