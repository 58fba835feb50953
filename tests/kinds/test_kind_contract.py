"""The kind contract (kinds/protocol.py) holds: code outside precheck/kinds/ asks the kind, never names
it nor guesses it from which figures are set, and every kind provides what the Protocol lists."""
from __future__ import annotations

import ast
from pathlib import Path

import precheck
from precheck.kinds import KINDS, Kind

PACKAGE_ROOT = Path(precheck.__file__).parent
# The one place a kind is detected (from the model's config files): it spells no name, but may take
# the kinds' own names (kinds.EMBEDDER, ...) to say which it found.
DETECTION = {"loading/resolve.py"}
NAME_CONSTANTS = {"EMBEDDER", "CROSS_ENCODER", "SPARSE_ENCODER", "MULTI_VECTOR_ENCODER"}


def _outside_kinds():
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        relative = path.relative_to(PACKAGE_ROOT).as_posix()
        # vocabulary.py spells the names the documents are written in (and a test holds them equal).
        if not relative.startswith("kinds/") and relative != "vocabulary.py":
            yield relative, ast.parse(path.read_text(encoding="utf-8"))


def _is_none(node) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _is_spearman(node) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "spearman"


def test_no_module_outside_kinds_spells_a_kind_name():
    found = [f"{module}:{node.lineno} {node.value!r}" for module, tree in _outside_kinds()
             for node in ast.walk(tree) if isinstance(node, ast.Constant) and node.value in KINDS]
    assert found == []


def test_only_the_detection_takes_the_kinds_name_constants():
    found = [f"{module}:{node.lineno} {alias.name}" for module, tree in _outside_kinds() if module not in DETECTION
             for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
             for alias in node.names if alias.name in NAME_CONSTANTS]
    assert found == []


def test_no_module_outside_kinds_guesses_the_kind_from_a_spearman_being_set():
    # `x.spearman is (not) None` is how the kind was guessed before the kind was asked.
    found = [f"{module}:{node.lineno}" for module, tree in _outside_kinds() for node in ast.walk(tree)
             if isinstance(node, ast.Compare) and isinstance(node.ops[0], (ast.Is, ast.IsNot))
             and any(_is_spearman(side) for side in (node.left, *node.comparators))
             and any(_is_none(side) for side in (node.left, *node.comparators))]
    assert found == []


def test_every_kind_provides_every_member_of_the_protocol():
    members = [name for name in (*Kind.__annotations__, *vars(Kind)) if not name.startswith("_")]
    missing = {name: [m for m in members if not hasattr(kind, m)] for name, kind in KINDS.items()}
    assert {name: gaps for name, gaps in missing.items() if gaps} == {}


def test_the_documents_kind_names_are_the_kinds_own_names_in_order():
    from precheck.vocabulary import KIND_NAMES
    from precheck.kinds import KINDS

    assert tuple(KINDS) == KIND_NAMES
