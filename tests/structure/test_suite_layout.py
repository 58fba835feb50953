"""How the suite is laid out holds (docs/testing.md): test files in the folder of the feature they test,
builders and shared helpers in tests/builders, st3 tests only in tests/st3 (scripts/test's st3 run
collects only that folder, so an st3 test anywhere else would run in neither environment)."""
from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
DOCS = TESTS.parent / "docs" / "testing.md"


def _test_files() -> list[Path]:
    return sorted(path for path in TESTS.rglob("test_*.py") if "__pycache__" not in path.parts)


def _folders() -> list[str]:
    return sorted(path.name for path in TESTS.iterdir() if path.is_dir() and path.name != "__pycache__")


def test_every_test_marked_st3_lives_in_tests_st3():
    outside = [str(path.relative_to(TESTS)) for path in _test_files()
               if "mark.st3" in path.read_text(encoding="utf-8") and path.parent.name != "st3"
               and path != Path(__file__).resolve()]
    assert outside == []


def test_every_test_file_is_in_a_feature_folder_and_builders_hold_none():
    misplaced = [str(path.relative_to(TESTS)) for path in _test_files()
                 if path.parent == TESTS or path.parent.name == "builders"]
    assert misplaced == []


def test_test_file_names_are_unique_across_the_folders():
    # pytest imports a test file of a folder without __init__.py by its bare name: two of one name collide.
    names = [path.name for path in _test_files() if path.parent.name != "st3"]
    assert sorted({name for name in names if names.count(name) > 1}) == []


def test_no_test_file_imports_another():
    # What test files share lives in tests/builders (on the path from conftest.py), never in a test file.
    importing = [str(path.relative_to(TESTS)) for path in _test_files()
                 if re.search(r"^\s*(from|import) test_\w+", path.read_text(encoding="utf-8"), re.M)]
    assert importing == []


def test_every_folder_is_described_in_the_docs():
    text = DOCS.read_text(encoding="utf-8")
    assert [folder for folder in _folders() if f"`tests/{folder}/`" not in text] == []
