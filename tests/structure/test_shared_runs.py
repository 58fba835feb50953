"""The files that read one shared session run are kept in one xdist worker (tests/builders/shared_runs.py)."""
from __future__ import annotations

from types import SimpleNamespace

from shared_runs import SHARED_RUNS, file_groups


def item(file: str, *fixtures: str) -> SimpleNamespace:
    return SimpleNamespace(nodeid=f"tests/{file}::test_{len(fixtures)}", fixturenames=["tmp_path", *fixtures])


def test_conftest_runs_read_by_several_files_are_shared_runs():
    assert {"overflow_run", "ci_pair_run", "plain_fp16_run", "cross_encoder_training_run"} <= SHARED_RUNS


def test_files_sharing_runs_through_a_chain_of_readers_are_one_group_and_the_rest_stay_alone():
    groups = file_groups([
        item("a.py", "overflow_run"), item("a.py"),
        item("b.py", "ci_pair_run"), item("b.py", "overflow_run", "plain_model"),
        item("c.py", "ci_pair_run"),
        item("d.py", "plain_model"),
        item("e.py", "plain_fp16_run"),
    ])
    assert set(groups) == {"tests/a.py", "tests/b.py", "tests/c.py"}
    assert len(set(groups.values())) == 1
