"""A signal is never lost: one seen by the handler stops every output from being put in place even
when something on the way up caught the exception it raised (issue 26: a swallowed Ctrl-C)."""
from __future__ import annotations

import signal

import pytest

from precheck.io import outputs


@pytest.fixture
def a_swallowed_signal():
    outputs.note_signal(signal.SIGINT)
    yield
    outputs._SIGNALS_SEEN.clear()


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
