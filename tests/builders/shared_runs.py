"""Session runs several test files read, made once under pytest-xdist: the files that read one
run in the same worker (scripts/test runs two, with --dist loadfile).

Each xdist worker builds the session fixtures its own files need, so a run read by files on both
workers would be made twice. `@shared_run` marks such a fixture; the files whose tests read one,
directly or through another fixture, form one unit of work, and every other file stays a unit of
its own, as --dist loadfile has it (its module fixtures are built once). The workers know which
fixtures a test reads; the scheduler, in the controlling process, sees only test ids: each worker
writes the groups to a file named in its workerinput, and the scheduler reads them. (xdist's own
--dist loadgroup renames test ids in a way pytest 9 ignores, so it cannot carry them.)
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

SHARED_RUNS: set[str] = set()
_GROUPS_KEY = "precheck_shared_run_groups"
_groups_file: list[Path] = []  # the controlling process's, made when the first worker starts


def shared_run(function):
    """A session fixture that several test files read (see the module's docstring)."""
    SHARED_RUNS.add(function.__name__)
    return pytest.fixture(scope="session")(function)


def file_groups(items) -> dict[str, str]:
    """{test file: group} for the files that share a run with another file; the rest are absent."""
    by_file: dict[str, set[str]] = {}
    for item in items:
        by_file.setdefault(item.nodeid.split("::", 1)[0], set()).update(SHARED_RUNS & set(item.fixturenames))
    parent = {file: file for file in by_file}

    def root(file: str) -> str:
        while parent[file] != file:
            file = parent[file]
        return file

    first_reader: dict[str, str] = {}
    for file, runs in sorted(by_file.items()):
        for run in sorted(runs):
            parent[root(file)] = root(first_reader.setdefault(run, file))
    members: dict[str, list[str]] = {}
    for file in sorted(by_file):
        members.setdefault(root(file), []).append(file)
    return {file: f"shared runs of {together[0]}" for together in members.values() if len(together) > 1
            for file in together}


# Units of work go to the workers in collection order: the folders whose files take longest first (real
# training runs, the docs' examples and workflows, the CI recipes), so that the two workers end together
# rather than one running a long file alone at the end. A stable sort: inside a folder, and inside a file,
# the order stays as collected.
LONGEST_FIRST = ("training", "docs", "ci", "kinds")


def _folder_rank(nodeid: str) -> int:
    parts = nodeid.split("::", 1)[0].split("/")
    folder = parts[-2] if len(parts) > 1 else ""
    return LONGEST_FIRST.index(folder) if folder in LONGEST_FIRST else len(LONGEST_FIRST)


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: _folder_rank(item.nodeid))
    target = getattr(config, "workerinput", {}).get(_GROUPS_KEY)
    if target:  # an xdist worker: every worker collects the same tests and writes the same groups
        scratch = Path(target).with_name(f"{config.workerinput['workerid']}.json")
        scratch.write_text(json.dumps(file_groups(items)), encoding="utf-8")
        os.replace(scratch, target)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    if not _groups_file:
        _groups_file.append(Path(tempfile.mkdtemp(prefix="precheck-test-groups-")) / "groups.json")
    node.workerinput[_GROUPS_KEY] = str(_groups_file[0])


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadfile" or not _groups_file:
        return None
    from xdist.scheduler import LoadFileScheduling

    class SharedRunsTogether(LoadFileScheduling):
        """--dist loadfile, with the files that share a run as one unit of work."""

        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            # First called once every worker has sent its collection, so after the groups are written.
            if self.groups is None:
                path = _groups_file[0]
                self.groups = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
            file = super()._split_scope(nodeid)
            return self.groups.get(file, file)

    return SharedRunsTogether(config, log)


def pytest_unconfigure(config):
    if _groups_file and not hasattr(config, "workerinput"):
        shutil.rmtree(_groups_file[0].parent, ignore_errors=True)
