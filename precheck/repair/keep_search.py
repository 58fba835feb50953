"""The keep-fp32 search: which blocks to hold in float32 so that a half-precision run passes.

Each run verifies a plan and, when it fails, locates the next culprit under the same hooks;
culprits are added one after another (a model can fail in several separate places), grown to
their parent while the culprit falls inside what is already kept, then each kept block is shrunk
to the fewest of its children that still pass. No candidate over the cap is run, no plan twice.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..kinds import torch_module
from ..data.plan import Plan
from .plans import apply_plan
from ..data.report import Diagnosis, ProbeResult
from ..session import ScanRun

# Past this share of float32 parameters a "mixed-precision plan" is just the float32 model.
MAX_FP32_SHARE = 0.5
MAX_RUNS = 60  # a bound on the search, far above what a model with a few culprits needs
# Errors come from the model's code, which every instance of a module runs: a culprit found in
# one layer is kept in every layer at once. Overflow depends on each layer's weights: not so.
_CODE_CAUSES = {"float32-in-forward", "uncast-module", "constant-out-of-range", "other"}
# Drift has no culprit to locate run by run: the blocks adding the most drift are added one by one.
DRIFT_TRIES = 6
_INDEX = re.compile(r"(?<=\.)\d+(?=\.|$)")


def parent(path: str) -> str:
    return path.rsplit(".", 1)[0] if "." in path else ""


def pattern(path: str) -> str:
    """The path with its layer indices wildcarded ("0.encoder.layer.*.attn"); the leading
    pipeline index stays, since a pipeline's modules are not layers of one stack."""
    return _INDEX.sub("*", path)


def under(path: str, block: str) -> bool:
    return path == block or path.startswith(block + ".")


@dataclass
class Structure:
    """Parameter counts and children of every module, read once from a float32 load."""

    numel: dict[str, int]  # qualified parameter name -> elements
    children: dict[str, list[str]]
    paths: list[str]
    classes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, net) -> "Structure":
        return cls(
            numel={name: p.numel() for name, p in net.named_parameters()},
            children={path: [f"{path}.{n}" if path else n for n, _ in module.named_children()]
                      for path, module in net.named_modules()},
            paths=[path for path, _ in net.named_modules() if path],
            classes={path: type(module).__name__ for path, module in net.named_modules() if path},
        )

    def label(self, paths: list[str]) -> str:
        """Paths as a user reads them: "0 (Transformer)", not a bare pipeline index."""
        return ", ".join(f"{p} ({self.classes[p]})" if p in self.classes else p for p in paths)

    def kept_numel(self, paths: list[str], run_low: list[str] = ()) -> int:
        return sum(n for name, n in self.numel.items()
                   if any(name.startswith(p + ".") for p in paths) and not any(name.startswith(p + ".") for p in run_low))

    def share(self, paths: list[str], run_low: list[str] = ()) -> float:
        total = sum(self.numel.values())
        return self.kept_numel(paths, run_low) / total if total else 0.0

    def holds_parameters(self, path: str) -> bool:
        return any(name.startswith(path + ".") for name in self.numel)


class PlanProbe:
    """Verifies plans on freshly loaded float32 weights, one probe run each, with a RunTracker on
    the model so that a failing run also names its culprit. Remembers every plan it ran."""

    def __init__(self, session: ScanRun, dtype: str) -> None:
        self.session, self.dtype = session, dtype
        self.structure: Structure | None = None
        self.runs = 0
        self._seen: dict[tuple, tuple[ProbeResult, Diagnosis | None]] = {}

    def ensure_structure(self) -> Structure:
        if self.structure is None:
            from ..loading.load import release_memory

            model = self.session.load(None)
            self.structure = Structure.of(torch_module(model))
            del model
            release_memory()
        return self.structure

    def verify(self, plan: Plan) -> ProbeResult:
        return self.check(plan)[0]

    def check(self, plan: Plan) -> tuple[ProbeResult, Diagnosis | None]:
        """(the probe result, the culprit of a failing run, or None when it passed or cannot be located)."""
        from ..loading.load import release_memory
        from ..diagnosis.localise import RunTracker

        key = (plan.strategy, tuple(sorted(plan.keep_fp32)), tuple(sorted(plan.run_low)))
        if key in self._seen:
            return self._seen[key]
        session, tracker = self.session, RunTracker()

        def build():
            model = session.load(plan.weights_dtype)
            if self.structure is None and plan.weights_dtype == "float32":
                self.structure = Structure.of(torch_module(model))
            apply_plan(model, plan, session.device)
            tracker.attach(torch_module(model))
            return model

        label = plan.strategy if not plan.keep_fp32 else f"keep-fp32 {','.join(plan.keep_fp32)}" + (
            f" but {','.join(plan.run_low)}" if plan.run_low else "")
        self.runs += 1
        result = session.probe(self.dtype, label, build)
        culprit = None
        if result.status == "error" and result.error is not None and tracker.net is not None:
            first = result.error.message.splitlines()[0] if result.error.message else ""
            culprit = tracker.error_diagnosis(self.dtype, "keep-fp32", f"{result.error.type}: {first}")
        elif result.status == "nonfinite":
            path = tracker.nonfinite_culprit()
            culprit = Diagnosis(self.dtype, "keep-fp32", "overflow", path, "first NaN/inf") if path else None
        tracker.detach()
        release_memory()
        if result.status == "nonfinite" and self._reference_has_nonfinite():
            # Items already NaN in float32 would name their own module first in a batch: locate
            # item by item, leaving them out, as the scan's diagnosis does (one more run).
            culprit = self._locate_item_by_item(plan)
        tracker.detach()
        release_memory()
        self._seen[key] = (result, culprit)
        return result, culprit


    def _reference_has_nonfinite(self) -> bool:
        from ..compare.dense import nonfinite_rows

        return bool(nonfinite_rows(self.session.reference).any())

    def _locate_item_by_item(self, plan: Plan) -> Diagnosis | None:
        from ..compare.dense import nonfinite_rows
        from ..loading.load import release_memory
        from ..diagnosis.localise import find_first_nonfinite

        session = self.session
        skip = {i for i, bad in enumerate(nonfinite_rows(session.reference).tolist()) if bad}
        self.runs += 1
        model = apply_plan(session.load(plan.weights_dtype), plan, session.device)
        try:
            return find_first_nonfinite(torch_module(model), session.items,
                                        lambda item: session.run_model(model, [item]),
                                        lambda item: session.kind.token_count(model, item),
                                        self.dtype, "keep-fp32", skip)
        finally:
            del model
            release_memory()


@dataclass
class KeepSearch:
    """What the search found: the plan and its run, or why there is none; and what it cost."""

    plan: Plan | None
    result: ProbeResult | None
    share: float
    runs: int
    why: str = ""
    tried: list[list[str]] = field(default_factory=list)


def _normalise(groups: list[list[str]]) -> list[list[str]]:
    """No kept path inside another kept path; empty groups dropped."""
    flat = [p for g in groups for p in g]
    out = []
    for group in groups:
        kept = [p for p in dict.fromkeys(group) if not any(q != p and under(p, q) for q in flat)]
        if kept:
            out.append(kept)
    return out


def _flat(groups: list[list[str]]) -> list[str]:
    return [p for g in groups for p in g]


def _start_group(structure: Structure, culprit: Diagnosis, grown: dict[str, int]) -> list[str]:
    """The culprit, or every module of its pattern for a code fault, raised by as many levels as
    an earlier culprit of the same pattern needed."""
    base = [culprit.module]
    if culprit.cause in _CODE_CAUSES and pattern(culprit.module) != culprit.module:
        wanted = pattern(culprit.module)
        base = [p for p in structure.paths if pattern(p) == wanted] or base
    levels = grown.get(pattern(culprit.module), 0)
    for _ in range(levels):
        base = [parent(p) or p for p in base]
    return list(dict.fromkeys(base))


def search_keep_fp32(probe: PlanProbe, first: Diagnosis, ranking: list[str] = ()) -> KeepSearch:
    """Add culprits until the probe set passes, then shrink each kept group."""
    structure = probe.ensure_structure()
    if first.cause == "drift":
        return _search_drift(probe, structure, first, ranking)
    groups: list[list[str]] = []
    origin: list[tuple[str, int]] = []  # per group: the pattern of its culprit, levels grown
    culprit: Diagnosis | None = first
    tried: list[list[str]] = []
    grown: dict[str, int] = {}
    culprits: list[str] = []
    while True:
        if culprit is not None and culprit.module:
            culprits.append(culprit.module)
        if culprit is not None and culprit.module and culprit.module in structure.children:
            inside = next((i for i, g in enumerate(groups) if any(under(culprit.module, p) for p in g)), None)
        else:
            inside = len(groups) - 1 if groups else None  # not located (drift): grow the latest group
            if inside is None:
                return KeepSearch(None, None, 0.0, probe.runs, "no culprit module was found to start from", tried)
        if inside is None:
            groups.append(_start_group(structure, culprit, grown))
            origin.append((pattern(culprit.module), grown.get(pattern(culprit.module), 0)))
        else:
            if any(not parent(p) for p in groups[inside]):
                return KeepSearch(None, None, 0.0, probe.runs, "the culprit's pipeline module itself fails", tried)
            groups[inside] = list(dict.fromkeys(parent(p) for p in groups[inside]))
            key, levels = origin[inside]
            origin[inside] = (key, levels + 1)
            grown[key] = max(grown.get(key, 0), levels + 1)
        groups = _normalise(groups)
        paths = _flat(groups)
        share = structure.share(paths)
        if share > MAX_FP32_SHARE:
            return KeepSearch(None, None, share, probe.runs,
                              f"keeping {structure.label(paths)} would hold {share:.1%} of the parameters in "
                              f"float32, over the {MAX_FP32_SHARE:.0%} cap", tried)
        if probe.runs >= MAX_RUNS:
            return KeepSearch(None, None, share, probe.runs, f"no plan within {MAX_RUNS} probe runs", tried)
        tried.append(paths)
        result, culprit = probe.check(Plan(probe.dtype, "keep-fp32", paths))
        if result.status == "ok":
            break
    return _shrink(probe, structure, groups, result, tried, culprits)


def _search_drift(probe: PlanProbe, structure: Structure, first: Diagnosis, ranking: list[str]) -> KeepSearch:
    """Keep the blocks that add the most drift (layers and their parts, the diagnosed one first), one
    more per run, until the probe set passes; no candidate over the cap, at most DRIFT_TRIES runs."""
    candidates = list(dict.fromkeys([first.module, *ranking] if first.module else ranking))
    kept: list[str] = []
    tried: list[list[str]] = []
    share = 0.0
    for block in candidates:
        if not block or any(under(block, k) for k in kept) or len(tried) >= DRIFT_TRIES or probe.runs >= MAX_RUNS:
            continue
        trial = [k for k in kept if not under(k, block)] + [block]
        if structure.share(trial) > MAX_FP32_SHARE:
            continue
        tried.append(trial)
        kept, share = trial, structure.share(trial)
        result, _ = probe.check(Plan(probe.dtype, "keep-fp32", kept))
        if result.status == "ok":
            return _shrink(probe, structure, [[k] for k in kept], result, tried, [])
    if not tried:
        return KeepSearch(None, None, 0.0, probe.runs, "no block that adds drift fits under the "
                          f"{MAX_FP32_SHARE:.0%} cap", tried)
    return KeepSearch(None, None, share, probe.runs,
                      f"keeping the blocks that add the most drift ({structure.label(kept)}, {share:.1%} of the "
                      f"parameters) still drifts", tried)


def _shrink(probe: PlanProbe, structure: Structure, groups: list[list[str]], result: ProbeResult,
            tried: list[list[str]], culprits: list[str]) -> KeepSearch:
    """Within each kept group, let its children run in the low dtype one at a time (largest first)
    while the probe set still passes. The block's own code and the edges between the children
    that stay kept remain float32: a feed-forward's inner activation is where float16 overflows.
    Not tried: children without parameters (keeping them costs no memory) and children holding a
    located culprit (in the low dtype it fails again, by construction)."""
    paths = _flat(groups)
    run_low: list[str] = []
    for group in groups:
        names = [n for n in _common_children(structure, group) if structure.holds_parameters(f"{group[0]}.{n}")
                 and not any(under(c, f"{p}.{n}") for p in group for c in culprits)]
        names.sort(key=lambda n: -structure.kept_numel([f"{group[0]}.{n}"]))
        for name in names:
            trial = run_low + [f"{p}.{name}" for p in group]
            tried.append(paths + [f"-{t}" for t in trial])
            candidate, _ = probe.check(Plan(probe.dtype, "keep-fp32", paths, trial))
            if candidate.status == "ok":
                run_low, result = trial, candidate
    plan = Plan(probe.dtype, "keep-fp32", paths, run_low)
    return KeepSearch(plan, result, structure.share(paths, run_low), probe.runs, "", tried)


def _common_children(structure: Structure, group: list[str]) -> list[str]:
    """Child names every block of the group has (blocks of one pattern share their class)."""
    lists = [[c.rsplit(".", 1)[1] for c in structure.children.get(p, [])] for p in group]
    if not lists or not lists[0]:
        return []
    return [n for n in lists[0] if all(n in names for names in lists[1:])]
