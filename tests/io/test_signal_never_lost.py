"""A signal is never lost: one seen by the handler stops every output from being put in place even
when something on the way up caught the exception it raised (issue 26: a swallowed Ctrl-C)."""
from __future__ import annotations

import os
import signal

import pytest

from precheck.io import outputs, signals


@pytest.fixture
def a_swallowed_signal():
    signals.note_signal(signal.SIGINT)
    yield
    signals._SIGNALS_SEEN.clear()


def test_a_report_is_not_written_after_a_swallowed_signal(a_swallowed_signal, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        outputs.write_file(tmp_path / "report.json", "{}", force=False)
    assert list(tmp_path.iterdir()) == []


def test_a_fixed_folder_is_not_published_after_a_swallowed_signal(a_swallowed_signal, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with outputs.staged_folder(tmp_path / "out") as staging:
            (staging / "precheck.json").write_text("{}")
            outputs.publish_folder(staging, tmp_path / "out", force=False)
    assert not (tmp_path / "out").exists()
    assert outputs.left_behind() == []


def test_the_run_stops_at_its_next_progress_step_after_a_swallowed_signal(a_swallowed_signal):
    from rich.console import Console

    from precheck.cli._progress import progress_display

    with progress_display(Console(file=open(os.devnull, "w")), quiet=False) as progress:
        with pytest.raises(KeyboardInterrupt):
            progress("loading float32 reference")
        with pytest.raises(KeyboardInterrupt):
            progress.items_done("float32", 1, 10)
