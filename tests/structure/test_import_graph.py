"""precheck's own imports: no cycle anywhere, and nothing heavy before a command runs."""
from __future__ import annotations

import ast
from pathlib import Path

import precheck

PACKAGE_ROOT = Path(precheck.__file__).parent
HEAVY = {"torch", "transformers", "sentence_transformers", "numpy", "accelerate"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, top_level_only: bool, named_only: bool = False) -> set[str]:
    """Absolute names of the modules `path` imports (relative imports resolved); with
    named_only, only the module each statement names (not the names it takes from it)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            if named_only:
                continue
            # `from . import x` may name a submodule
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def _graph(top_level_only: bool) -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE_ROOT.rglob("*.py")}
    return {name: {m for m in _imports(path, top_level_only) if m in modules and m != name}
            for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_precheck_has_no_import_cycle_even_through_function_level_imports():
    assert _cycle(_graph(top_level_only=False)) is None, " -> ".join(_cycle(_graph(top_level_only=False)))


def test_modules_the_cli_imports_before_a_command_runs_import_nothing_heavy_at_top_level():
    graph = _graph(top_level_only=True)
    reached, todo = set(), ["precheck.cli", "precheck"]
    while todo:
        name = todo.pop()
        if name in reached:
            continue
        reached.add(name)
        todo.extend(graph[name])
    modules = {_module_name(p): p for p in PACKAGE_ROOT.rglob("*.py")}
    heavy = {name: sorted(m for m in _imports(modules[name], True) if m.split(".")[0] in HEAVY)
             for name in reached}
    assert {name: mods for name, mods in heavy.items() if mods} == {}


def test_every_relative_import_names_a_module_that_exists():
    modules = {_module_name(p): p for p in PACKAGE_ROOT.rglob("*.py")}
    missing = {name: sorted(m for m in _imports(path, False, named_only=True)
                            if m.startswith("precheck") and m not in modules)
               for name, path in modules.items()}
    assert {name: mods for name, mods in missing.items() if mods} == {}


def test_every_module_is_named_in_the_architecture_map():
    # The map (docs/architecture.md) names each module by its path under precheck/, e.g. `engine/scanner.py`.
    text = (PACKAGE_ROOT.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    unnamed = [str(path.relative_to(PACKAGE_ROOT)) for path in sorted(PACKAGE_ROOT.rglob("*.py"))
               if path.name != "__init__.py" or path.parent == PACKAGE_ROOT]
    unnamed = [module for module in unnamed if f"`{module}`" not in text and f", `{module}`" not in text]
    assert unnamed == [], unnamed


def _room(module: str) -> str:
    """The room a module stands in: its folder under precheck/, or the module itself when it stands alone."""
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__.py"
    return f"{parts[1]}/" if (PACKAGE_ROOT / parts[1]).is_dir() else f"{parts[1]}.py"


def _layers() -> dict[str, int]:
    """docs/architecture.md's "Layers" table: each room's layer number, bottom first."""
    text = (PACKAGE_ROOT.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("\n## Layers\n", 1)[1].split("\n## ", 1)[0]
    layers = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].isdigit():
            for room in cells[2].split(","):
                layers[room.strip().strip("`")] = int(cells[0])
    return layers


def _room_imports() -> dict[tuple[str, str], list[str]]:
    """(room, room it imports) -> the module imports behind that arrow, inside functions included."""
    arrows: dict[tuple[str, str], list[str]] = {}
    for module, imported in _graph(top_level_only=False).items():
        for target in imported:
            if _room(module) != _room(target):
                arrows.setdefault((_room(module), _room(target)), []).append(f"{module} -> {target}")
    return arrows


def test_every_room_has_a_layer_in_the_architecture_map():
    rooms = {_room(name) for name in _graph(top_level_only=False)}
    assert sorted(rooms - set(_layers())) == []


def test_no_room_imports_a_room_of_a_higher_layer():
    layers = _layers()
    upward = {f"{a} (layer {layers[a]}) -> {b} (layer {layers[b]})": sorted(imports)
              for (a, b), imports in _room_imports().items()
              if a in layers and b in layers and layers[b] > layers[a]}
    assert upward == {}


def test_no_two_rooms_import_each_other():
    arrows = _room_imports()
    both_ways = sorted(f"{a} <-> {b}" for a, b in arrows if a < b and (b, a) in arrows)
    assert both_ways == []
