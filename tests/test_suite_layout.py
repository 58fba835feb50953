"""How the suite is laid out holds: scripts/test's st3 run collects only tests/st3, so an st3 test
anywhere else would run in neither environment."""
from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_every_test_marked_st3_lives_in_tests_st3():
    outside = [path.name for path in sorted(TESTS.glob("*.py")) if "mark.st3" in path.read_text(encoding="utf-8")
               and path.name != Path(__file__).name]
    assert outside == []
