"""Every `pip install` in README.md and docs/ installs this project (issue 35): `precheck` on the
package index is an unrelated project, so no recipe may name it; each names the distribution
(pyproject.toml's [project] name, with extras it defines) or the documented fallback, a clone's
folder or git URL."""
from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

from precheck.errors import DISTRIBUTION, install_hint

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
EXTRAS = set(PYPROJECT["project"]["optional-dependencies"])
# The fallback the README documents while the distribution is not published: a clone's folder, or
# `DISTRIBUTION[extras] @ git+URL`.
CLONE = re.compile(r"\./precheck(\[(?P<extras>[\w,]+)\])?")
NAMED = re.compile(rf"{re.escape(DISTRIBUTION)}(\[(?P<extras>[\w,]+)\])?( @ git\+https://\S+)?")


def _install_lines() -> list[tuple[str, str]]:
    """(file, the words after `pip install`) for every install in a code block or inline code."""
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for line in path.read_text(encoding="utf-8").splitlines():
            for match in re.finditer(r"pip install ([^`#\n]+)", line):
                words = match.group(1).split(" with ")[0].split(", or ")[0].strip().rstrip(")")
                found.append((path.name, words))
    return found


def _requirements(words: str) -> list[str]:
    return [w for w in shlex.split(words) if not w.startswith("-")]


def test_the_distribution_is_the_name_pyproject_installs():
    assert PYPROJECT["project"]["name"] == DISTRIBUTION != "precheck"
    assert PYPROJECT["project"]["scripts"] == {"precheck": "precheck.cli:main"}  # the command keeps its name


def test_no_install_line_names_the_unrelated_precheck():
    lines = _install_lines()
    assert len(lines) >= 10, lines  # the recipes were found
    bare = [(f, w) for f, w in lines for r in _requirements(w) if re.fullmatch(r"precheck(\[[\w,]*\])?", r)]
    assert not bare


def test_every_install_of_precheck_names_the_distribution_or_the_documented_fallback():
    ours = [(f, r) for f, w in _install_lines() for r in _requirements(w) if "precheck" in r]
    assert ours
    for file, requirement in ours:
        match = NAMED.fullmatch(requirement) or (file == "README.md" and CLONE.fullmatch(requirement))
        assert match, f"{file}: pip install {requirement}"
        extras = set(filter(None, (match.group("extras") or "").split(",")))
        assert extras <= EXTRAS, f"{file}: {requirement} names an extra pyproject.toml does not define"


def test_the_fallback_is_documented_beside_the_name():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "not published yet" in readme and "pip install ./precheck" in readme
    assert "not published yet" in (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")


def test_an_error_that_asks_for_an_extra_installs_this_distribution():
    for extra in ("html", "quant", "offload"):
        assert extra in EXTRAS
        assert install_hint(extra) == f"pip install '{DISTRIBUTION}[{extra}]'"
