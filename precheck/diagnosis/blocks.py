"""The blocks a user thinks in (pipeline modules, embeddings, layers, their parts): how close each
runs to float16's edge in the float32 reference (headroom), and the error each adds against float32.

recording_headroom: per-block largest |activation| during the reference encode; capture_block_io and
block_drift: per-block error against float32; innermost_worst: the block that adds the most drift,
named as deep as the evidence goes.
"""
from __future__ import annotations

import math
from contextlib import contextmanager

from ..data.report import BlockDrift, Headroom
from ..tensors import floating_tensors, max_abs
from .localise import module_hooks

FLOAT16_MAX = 65504.0
# An overflow with no float32 output past 65504 around it: a sum or product inside one module's
# computation passes float16's range, though what the module returns does not.
NO_OUTPUT_PASSES = ("in float32 no output at or around it passes 65504: a sum or product inside its "
                    "computation does, in float16")


def block_paths(net) -> dict[str, str]:
    """The blocks a user thinks in, path -> kind: pipeline `module`s, `embeddings`, each
    `layer` of a stack (children of a ModuleList) and that layer's `part`s (attention, ...)."""
    from torch import nn

    modules = dict(net.named_modules())
    chosen: dict[str, str] = {}
    for path, module in modules.items():
        if not path or isinstance(module, nn.ModuleList):
            continue
        parent = modules.get(path.rsplit(".", 1)[0] if "." in path else "")
        grandparent = modules.get(path.rsplit(".", 2)[0]) if path.count(".") >= 2 else None
        if "." not in path:
            chosen[path] = "module"
        elif isinstance(parent, nn.ModuleList):
            chosen[path] = "layer"
        elif isinstance(grandparent, nn.ModuleList):
            chosen[path] = "part"
        elif path.endswith("embeddings") and not isinstance(module, nn.Embedding):
            chosen[path] = "embeddings"
    return chosen


@contextmanager
def recording_headroom(net):
    """While the model runs inside, record each block's largest |activation| anywhere inside it
    (the output of the block and of every module within it: a feed-forward Linear that passes
    65504 counts, though the LayerNorm after it brings the block's own output back down), and
    the module where it was reached; yields a function that returns the Headroom list in block order.
    Each hook reduces its output to one number at once: no activation outlives its module."""
    paths = block_paths(net)
    largest: dict[str, float] = {}
    reached_at: dict[str, str] = {}
    classes = {p: type(net.get_submodule(p)).__name__ for p in paths}
    # Per hooked module, the blocks that hold it (itself included), computed once.
    holders = {path: blocks for path, _ in net.named_modules() if path and (blocks := _holding(path, paths))}

    def record(path, module, args, kwargs, output):
        # A pipeline module passes on a features dict that still holds what earlier modules put in it:
        # its own output is the embedding it adds (Pooling's and Normalize's sentence embedding).
        own = _main_tensor(output) if paths.get(path) == "module" or _is_features(output) else None
        value = max_abs([own] if own is not None else floating_tensors(output))
        for block in holders[path]:
            if block not in largest or value > largest[block]:
                largest[block], reached_at[block] = value, path

    def result() -> list[Headroom]:
        return [Headroom(p, classes[p], kind, largest[p], largest[p] / FLOAT16_MAX, reached_at[p])
                for p, kind in paths.items() if p in largest]

    with module_hooks(net, post=record, only=set(holders)):
        yield result


def _holding(path: str, blocks: dict[str, str]) -> list[str]:
    """The blocks that hold `path` (itself included), innermost first."""
    parts = path.split(".")
    return [prefix for prefix in (".".join(parts[:n]) for n in range(len(parts), 0, -1)) if prefix in blocks]


def _is_features(value) -> bool:
    """A sentence-transformers features dict (what pipeline modules pass on)."""
    from collections.abc import Mapping

    return isinstance(value, Mapping) and ("sentence_embedding" in value or "token_embeddings" in value)


def overflow_evidence(headroom: list, path: str) -> str:
    """Where float32 passes float16's 65504 at or around `path` (a module that overflowed): the
    largest value inside the innermost block holding `path` that passes it, with the module where
    it is reached (that module's output, before any norm after it). A value below 65504 is never
    quoted: when no block around `path` passes it, the clause says so; "" when the float32 encode
    measured no block around `path` (nothing to say)."""
    holding = sorted((row for row in headroom
                      if (path == row.module or path.startswith(row.module + ".")) and row.kind != "module"),
                     key=lambda row: -len(row.module))
    for row in holding:
        if row.max_abs is None or math.isinf(row.max_abs):
            return f"in float32 {row.max_at or row.module} is already inf"
        if row.max_abs >= FLOAT16_MAX:
            return (f"in float32 {row.max_at or row.module} reaches {row.max_abs:,.0f} "
                    f"({row.max_abs / FLOAT16_MAX:.1f}x float16's largest, 65504)")
    return NO_OUTPUT_PASSES if holding else ""


def _main_tensor(value):
    """The tensor a block passes on: for a sentence-transformers features dict the embedding its
    module adds (sentence, else token embeddings), else the first floating tensor; None if none."""
    from collections.abc import Mapping

    if isinstance(value, Mapping):
        for key in ("sentence_embedding", "token_embeddings"):
            if key in value and hasattr(value[key], "is_floating_point") and value[key].is_floating_point():
                return value[key]
    tensors = floating_tensors(value)
    return tensors[0] if tensors else None


def capture_block_io(net, items: list, run_one, paths: list[str]) -> dict[str, list]:
    """Per block, per item, (input, output) of its first call as float32 CPU tensors (None when
    it has no floating one); one item a batch, so shapes match across runs."""
    captured: dict[str, list] = {p: [] for p in paths}
    pending: dict[str, object] = {}
    current = {"item": -1}

    def keep(tensor):
        return None if tensor is None else tensor.detach().float().cpu()

    def enter(path, module, args, kwargs):
        if len(captured[path]) == current["item"] and path not in pending:
            pending[path] = keep(_main_tensor(args[0] if len(args) == 1 and not kwargs else (args, kwargs)))

    def leave(path, module, args, kwargs, output):
        if path in pending:
            captured[path].append((pending.pop(path), keep(_main_tensor(output))))

    with module_hooks(net, pre=enter, post=leave, only=set(paths)):
        for index, item in enumerate(items):
            current["item"] = index
            pending.clear()
            run_one(item)
    return captured


def _relative_error(pairs) -> float | None:
    import torch

    if any(r is None or c is None or r.shape != c.shape for r, c in pairs):
        return None
    num = sum(float(torch.linalg.vector_norm(c - r)) ** 2 for r, c in pairs)
    den = sum(float(torch.linalg.vector_norm(r)) ** 2 for r, _ in pairs)
    return (num / den) ** 0.5 if den > 0 else 0.0


def block_drift(reference: dict[str, list], candidate: dict[str, list]) -> list[BlockDrift]:
    """Each block's relative error against float32 at its output, and how much it added over the
    error already in its input (a block whose input has no floating tensor starts from 0)."""
    rows: list[BlockDrift] = []
    for path, ref_io in reference.items():
        low_io = candidate.get(path, [])
        if not ref_io or len(low_io) != len(ref_io):
            continue
        error = _relative_error([(r[1], c[1]) for r, c in zip(ref_io, low_io)])
        if error is None:
            continue
        before = _relative_error([(r[0], c[0]) for r, c in zip(ref_io, low_io)]) \
            if all(r[0] is not None for r in ref_io) else 0.0
        rows.append(BlockDrift(path, error, error - (before or 0.0)))
    return rows


def _block_parent(path: str, paths: set[str]) -> str | None:
    while "." in path:
        path = path.rsplit(".", 1)[0]
        if path in paths:
            return path
    return None


def innermost_worst(rows: list[BlockDrift], kinds: dict[str, str] | None = None,
                    holds: set[str] | None = None) -> BlockDrift | None:
    """The block that adds the most error, named as deep as the evidence goes: from the worst
    top-level block, down to the child that adds the most, while that child adds at least half of
    what its parent does (always out of a pipeline module: the whole Transformer names nothing).
    With `holds` (the blocks that hold parameters), only those are blamed: a parameter-free pooling or
    normalisation passes on the error it is given and holds nothing a fix could keep in float32."""
    if not rows:
        return None
    paths = {r.module for r in rows}
    children: dict[str | None, list[BlockDrift]] = {}
    for row in rows:
        if holds is None or row.module in holds:
            children.setdefault(_block_parent(row.module, paths), []).append(row)
    if not children:
        return innermost_worst(rows, kinds)
    worst = max(children.get(None) or next(iter(children.values())), key=lambda r: r.added)
    while children.get(worst.module):
        best = max(children[worst.module], key=lambda r: r.added)
        whole_module = (kinds or {}).get(worst.module) == "module" or "." not in worst.module
        if best.added <= 0 or (not whole_module and best.added < 0.5 * worst.added):
            break
        worst = best
    return worst


def ranked_with(worst: BlockDrift, rows: list[BlockDrift], holds: set[str] | None = None) -> list[BlockDrift]:
    """The blocks beside `worst` (its siblings in the block tree, holding parameters) by the error each
    adds, most first: the one ranking a diagnosis gives, which innermost_worst's choice heads."""
    paths = {r.module for r in rows}
    parent = _block_parent(worst.module, paths)
    level = [r for r in rows if _block_parent(r.module, paths) == parent and r.added > 0
             and (holds is None or r.module in holds) and r.module != worst.module]
    return [worst] + sorted(level, key=lambda r: -r.added)
