"""Is the float32 reference what the model's code computes? Non-persistent buffers of each
transformers model, checked against a fresh instance built from its config, and repaired.

transformers 5 builds models on the meta device and fills every non-persistent buffer with
uninitialised memory; only what `_init_weights` rebuilds gets values back. Remote code written for
transformers 4 (rotary `inv_freq`, `cos_cached`, `position_ids`) then runs on garbage in every dtype.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

from ..session import ScanRun

CAUSE = "uninitialised-buffers"
VERIFY_ITEMS = 4  # probe items encoded by a second, repaired load to show the reference is reproducible


@dataclass
class BufferRepair:
    """Which buffers to copy from a fresh instance: owner (a transformers model's path in the
    torch module) -> buffer names inside it; and the fresh values, reused by later loads of a scan."""

    owners: dict[str, list[str]] = field(default_factory=dict)
    values: dict[str, object] = field(default_factory=dict)  # full path -> CPU tensor

    def paths(self) -> list[str]:
        return [_join(owner, name) for owner, names in self.owners.items() for name in names]


def _join(owner: str, name: str) -> str:
    return f"{owner}.{name}" if owner else name


def transformers_owners(net) -> dict[str, object]:
    """The outermost transformers models inside a torch module, by path ("" when it is one)."""
    from transformers import PreTrainedModel

    found: dict[str, object] = {}
    for path, module in net.named_modules():
        if isinstance(module, PreTrainedModel) and not any(
                path == p or path.startswith(p + ".") or not p for p in found):
            found[path] = module
    return found


def non_persistent_buffers(module) -> dict[str, object]:
    """name -> tensor of the buffers a state dict leaves out, so no checkpoint restores them."""
    found = {}
    for name, tensor in module.named_buffers():
        parent, _, leaf = name.rpartition(".")
        if tensor is not None and leaf in module.get_submodule(parent)._non_persistent_buffers_set:
            found[name] = tensor
    return found


@contextmanager
def _parameters_on_meta():
    """Parameters made on the meta device, buffers computed as the code computes them: a fresh
    instance's buffers without the time and memory of its weights."""
    try:
        from accelerate import init_empty_weights
    except ImportError:
        yield
        return
    with init_empty_weights(include_buffers=False):
        yield


def fresh_buffers(owner, names: list[str]) -> dict[str, object]:
    """The named buffers of `type(owner)(owner.config)` built on the CPU in a normal init (the
    config as loaded, so load options carry over); raises what the constructor raises."""
    import torch

    def build(cheap: bool):
        with torch.device("cpu"):
            if cheap:
                with _parameters_on_meta():
                    return type(owner)(owner.config)
            return type(owner)(owner.config)

    fresh = build(cheap=True)
    values = {n: fresh.get_buffer(n) for n in names}
    if any(v.is_meta for v in values.values()):
        # A buffer computed from a parameter's device: build it with real weights after all.
        fresh = build(cheap=False)
        values = {n: fresh.get_buffer(n) for n in names}
    return {n: v.detach().clone() for n, v in values.items()}


def _same(loaded, fresh) -> bool:
    import torch

    if loaded.is_meta or loaded.shape != fresh.shape:
        return True  # offloaded, or resized by the code itself: nothing to compare against
    a, b = loaded.detach().cpu(), fresh
    if a.is_floating_point() or b.is_floating_point():
        return bool(torch.allclose(a.double(), b.double(), rtol=1e-5, atol=1e-8, equal_nan=True))
    return bool(torch.equal(a, b.to(a.dtype)))


@dataclass
class Found:
    checked: list[str]
    repair: BufferRepair
    unchecked: str = ""  # why no fresh instance could be built


def find_uninitialised(net) -> Found:
    """Compare every non-persistent buffer of each transformers model in `net` with a fresh instance."""
    checked: list[str] = []
    repair = BufferRepair()
    for owner_path, owner in transformers_owners(net).items():
        buffers = non_persistent_buffers(owner)
        if not buffers:
            continue
        checked.extend(_join(owner_path, n) for n in buffers)
        try:
            fresh = fresh_buffers(owner, list(buffers))
        except Exception as exc:  # noqa: BLE001 - a constructor that needs more than its config
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            return Found(checked, repair, f"{type(owner).__name__}(config) raised {type(exc).__name__}: {first}")
        differ = [n for n, tensor in buffers.items() if not _same(tensor, fresh[n])]
        if differ:
            repair.owners[owner_path] = differ
            repair.values.update({_join(owner_path, n): fresh[n] for n in differ})
    return Found(checked, repair)


def apply_repair(net, repair: BufferRepair | None):
    """Copy each listed buffer from the fresh values (computing them when not given); returns net."""
    import torch

    if repair is None or not repair.owners:
        return net
    with torch.no_grad():
        for owner_path, names in repair.owners.items():
            owner = net.get_submodule(owner_path)
            missing = [n for n in names if _join(owner_path, n) not in repair.values]
            fresh = fresh_buffers(owner, missing) if missing else {}
            for name in names:
                target = owner.get_buffer(name)
                value = repair.values.get(_join(owner_path, name), fresh.get(name))
                target.copy_(value.to(device=target.device, dtype=target.dtype))
    return net


def repair_snippet(repair: BufferRepair, net_expr: str = "model") -> str:
    """The lines a user adds after loading: copy the listed buffers from a fresh instance."""
    lines = []
    for owner_path, names in repair.owners.items():
        owner = f"{net_expr}.get_submodule({owner_path!r})" if owner_path else net_expr
        lines += [
            f"# transformers {_transformers_version()} left these non-persistent buffers uninitialised: "
            "copy them from a fresh instance",
            f"owner = {owner}",
            "fresh = type(owner)(owner.config)  # a normal init computes them",
            f"for name in {names!r}:",
            "    owner.get_buffer(name).copy_(fresh.get_buffer(name))",
        ]
    return "\n".join(lines) + ("\n" if lines else "")


def _transformers_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("transformers")
    except metadata.PackageNotFoundError:
        return "?"


def describe(found: Found) -> tuple[str, str]:
    """(status, detail) for the report: none, ok, repaired or unchecked."""
    version = _transformers_version()
    if not found.checked:
        return "none", "no transformers model in it has non-persistent buffers"
    if found.unchecked:
        return "unchecked", (f"{len(found.checked)} non-persistent buffer(s) could not be checked against a "
                             f"fresh instance: {found.unchecked}; two loads were compared instead")
    paths = found.repair.paths()
    if not paths:
        return "ok", f"{len(found.checked)} non-persistent buffer(s) match a fresh instance built from the config"
    return "repaired", (f"{CAUSE}: transformers {version} left {', '.join(paths)} uninitialised (non-persistent, "
                        "not rebuilt by the model's _init_weights); each was copied from a fresh instance built "
                        "from the config, in every load of this scan")


def reproducible(first, second, tolerance: float = 1e-3) -> tuple[bool, float]:
    """Whether two float32 runs on the same items agree to `tolerance` of the largest value (batching
    moves float32 by ~1e-6)."""
    import torch

    a, b = first.double(), second.double()
    both = torch.isfinite(a) & torch.isfinite(b)
    if not bool((torch.isfinite(a) == torch.isfinite(b)).all()):
        return False, float("inf")
    diff = float((a - b).abs()[both].max()) if bool(both.any()) else 0.0
    scale = max(float(a.abs()[both].max()) if bool(both.any()) else 1.0, 1e-12)
    return diff <= tolerance * scale, diff


def check_reference(session: ScanRun, model):
    """Check the freshly loaded float32 reference (before any encode), repair it in place and
    remember the repair for every later load of the session. Returns the report's BufferCheck."""
    from ..kinds import torch_module
    from ..data.report import BufferCheck

    found = find_uninitialised(torch_module(model))
    status, detail = describe(found)
    if found.repair.owners:
        session.buffer_repair = found.repair
        apply_repair(torch_module(model), found.repair)
    net_expr = session.kind.api_shape()[0]
    return BufferCheck(status, len(found.checked), found.repair.paths(), dict(found.repair.owners),
                       CAUSE if found.repair.owners else "", detail, repair_snippet(found.repair, net_expr))


def verify_reference(session: ScanRun, check) -> None:
    """A reference that needed repair (or could not be checked) must be reproducible: a second load,
    repaired the same way, encodes a few probe items as the first did; else precheck cannot run."""
    from ..errors import PrecheckError
    from ..loading.load import release_memory

    if check is None or check.status not in ("repaired", "unchecked") or not session.items:
        return
    count = min(VERIFY_ITEMS, len(session.items))
    model = session.load_reference()
    if session.buffer_repair is not None:
        from ..kinds import torch_module

        # Rebuilt from a new fresh instance, as precheck.load does: buffers that differ from one
        # instance to the next (random at init) make a reference no load can reproduce.
        apply_repair(torch_module(model), BufferRepair(dict(session.buffer_repair.owners)))
    try:
        outputs, _ = session.run_model(model, session.items[:count])
    finally:
        del model
        release_memory()
    same, diff = reproducible(session.reference[:count], outputs)
    if same:
        check.detail += f"; a second load{' so repaired' if check.status == 'repaired' else ''} " \
                        f"gives the same float32 outputs"
        return
    what = (f"even after repairing {', '.join(check.repaired_buffers)}" if check.status == "repaired"
            else f"and its buffers cannot be rebuilt ({check.detail})")
    raise PrecheckError(
        f"{session.model.name}: the float32 reference is not reproducible {what}: two loads differ by up to "
        f"{diff:.3g} on the same probe items (transformers {_transformers_version()})",
        "part of the model is left uninitialised by this transformers version; try the transformers the "
        "model's code was written for, or report it to the model's authors")


def repaired(model, repair: BufferRepair | None):
    """A loaded model (SentenceTransformer, CrossEncoder, ...) with the session's buffer repair applied."""
    if repair is not None and repair.owners:
        from ..kinds import torch_module

        apply_repair(torch_module(model), repair)
    return model
