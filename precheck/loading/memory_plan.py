"""The memory plan: what each run of a scan needs and where it goes, decided before anything loads.

Parameter counts come from the safetensors headers (safetensors_files.py, checked against the
format), so a 30 GB checkpoint is sized in milliseconds; a float32 reference too big for the
device goes where it fits (accelerate's device_map="auto": device, CPU RAM, disk), or to the CPU when asked.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from ..dtypes import is_quantized
from ..errors import PrecheckError, install_hint
from ..option_checks import parse_max_memory, refuse_foreign_budget
from ..data.report import MemoryPlan, RunPlacement
from .safetensors_files import read_safetensors_header, weight_files

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}
# safetensors dtype codes of the tensors that become parameters, cast to the requested dtype on load.
# Integer tensors are buffers (all-MiniLM-L6-v2 stores position_ids, 4 KB): not parameter bytes.
_FLOATING = {"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2"}
# Parameters are not all a run needs (activations, the CUDA context, the allocator's cache):
# a run is planned onto a device only when its weights take at most this share of what is free.
FREE_SHARE = 0.9


def _module_folders(root: Path) -> list[Path]:
    """The model folder and each sentence-transformers module folder (a Dense layer keeps its own weights)."""
    from .modules_file import read_modules

    return [root] + [root / module.path for module in read_modules(root)
                     if module.path.strip() and (root / module.path).is_dir()]


def checkpoint_bytes(path: str) -> tuple[str, int | None, dict[str, int]]:
    """(weights kind, floating parameter count, estimated parameter bytes per dtype) from the headers.

    pytorch_model.bin has no header to read: then the count is None and the estimate needs a load.
    """
    root = Path(path)
    if not root.is_dir():
        return "none", None, {}
    kinds, floating = [], 0
    for folder in _module_folders(root):
        kind, files = weight_files(folder)
        kinds.append(kind)
        for file in files:
            for entry in read_safetensors_header(file).values():
                count = 1
                for size in entry["shape"]:
                    count *= size
                if entry["dtype"] in _FLOATING:
                    floating += count
    if "pytorch-bin" in kinds:
        return "pytorch-bin", None, {}
    found = [k for k in kinds if k != "none"]
    if not found:
        return "none", None, {}
    kind = "safetensors-index" if "safetensors-index" in found else "safetensors"
    return kind, floating, {name: floating * size for name, size in DTYPE_BYTES.items()}


def available_ram() -> int | None:
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        return int(psutil.virtual_memory().available)
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def free_memory(device: str) -> int | None:
    """Free bytes where the runs go: the CUDA driver's count, else available RAM (MPS shares it)."""
    if device == "cuda":
        import torch

        return int(torch.cuda.mem_get_info()[0])
    return available_ram()


def gib(n: int | None) -> str:
    if n is None:
        return "?"
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


def offload_supported(kind: str) -> bool:
    """sentence-transformers 6 keeps a device_map (and skips its own .to(device)); older releases
    move the whole model onto one device after loading, which an offloaded model cannot survive."""
    from ..kinds import kind_for

    import sentence_transformers

    return hasattr(getattr(sentence_transformers, kind_for(kind).class_name), "_device_map")


def _accelerate_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("accelerate") is not None


def _place_reference(need: int, device: str, budget: dict[str, int], reference_device: str | None,
                     model_kind: str, notes: list[str]) -> RunPlacement:
    if reference_device == "cpu" or (device == "cpu" and need <= budget["cpu"]):
        return RunPlacement("reference", "float32", need, "cpu")
    if need <= budget[device]:
        return RunPlacement("reference", "float32", need, device)
    disk = shutil.disk_usage(tempfile.gettempdir()).free
    order = [device] + (["cpu"] if device != "cpu" else [])
    available = sum(budget[d] for d in order) + disk
    if need > available:
        where = ", ".join(f"{d} {gib(budget[d])}" for d in order)
        raise PrecheckError(f"the float32 reference needs {gib(need)} and only {gib(available)} is available "
                            f"({where}, disk {gib(disk)})", "free memory or disk, or raise --max-memory")
    spread = ", ".join(f"{d} <= {gib(budget[d])}" for d in order) + ", then disk"
    if not _accelerate_installed() or not offload_supported(model_kind):
        why = "accelerate is not installed" if not _accelerate_installed() else \
            "this sentence-transformers cannot hold an offloaded model"
        if device != "cpu" and need <= budget["cpu"]:
            notes.append(f"{why}: the float32 reference runs on the CPU instead")
            return RunPlacement("reference", "float32", need, "cpu")
        raise PrecheckError(f"the float32 reference needs {gib(need)}, more than {device} can hold "
                            f"({gib(budget[device])}), and {why}",
                            f"{install_hint('offload')} with sentence-transformers >= 6, or raise --max-memory")
    return RunPlacement("reference", "float32", need, "offload", spread)


def plan_memory(model, device: str, dtypes, max_memory: str | None = None,
                reference_device: str | None = None) -> MemoryPlan:
    """The plan for one scan of a resolved model on a resolved device. Raises PrecheckError, with
    the numbers, when a run fits nowhere. Low-precision runs stay on the device: they are what is served."""
    if reference_device not in (None, "auto", "cpu", device):
        raise PrecheckError(f"--reference-device {reference_device!r}", "use cpu (or leave it out)")
    weights, parameters, estimate = checkpoint_bytes(model.path)
    free = free_memory(device)
    ram = available_ram() if device != "cpu" else free
    asked = parse_max_memory(max_memory)
    refuse_foreign_budget(max_memory, device)
    notes: list[str] = []
    if None in (free, ram) and not asked:
        # Nothing to plan against (no /proc/meminfo and no psutil): the runs go where they always did.
        notes.append(f"free memory on {device if free is None else 'cpu'} is unknown: the plan assumes enough")
    unknown = 2**62
    budget = {"cpu": asked.get("cpu", unknown if ram is None else int(ram * FREE_SHARE))}
    if device != "cpu":
        budget[device] = asked.get(device, unknown if free is None else int(free * FREE_SHARE))
    runs: list[RunPlacement] = []
    if not estimate:
        notes.append(f"no safetensors headers to read ({weights}): the estimate needs a load; every run goes to {device}")
        runs.append(RunPlacement("reference", "float32", None, "cpu" if reference_device == "cpu" else device))
    else:
        runs.append(_place_reference(estimate["float32"], device, budget, reference_device, model.kind, notes))
    for dtype in dtypes:
        need = estimate.get(dtype)
        if need is not None and free is not None and need > free:
            raise PrecheckError(f"{dtype} needs {gib(need)} for its parameters and {device} has {gib(free)} free",
                                "the low-precision runs stay on the device: free memory, or use a larger device")
        runs.append(RunPlacement("load", dtype, need, device))
        if is_quantized(dtype):
            continue  # loaded only (engine/scanner.py QUANTIZED_STRATEGIES)
        # cast = a float32 load, then .to(dtype): its peak is the float32 weights on the device.
        runs.append(RunPlacement("cast", dtype, estimate.get("float32"), device))
    if estimate and free is not None and estimate["float32"] > free:
        notes.append(f"the cast runs load float32 on {device} first ({gib(estimate['float32'])}, {gib(free)} free) "
                     "and may run out of memory: their errors would say so")
    return MemoryPlan(weights, parameters, estimate, device, free, budget, runs, notes)


def reference_kwargs(plan: MemoryPlan | None) -> dict:
    """model_kwargs for an offloaded float32 reference: device_map="auto" under the plan's budget, spilling
    to a temporary folder that is removed with the model. Empty when the reference is not offloaded."""
    placement = plan.runs[0] if plan is not None else None
    if placement is None or placement.placement != "offload":
        return {}
    # accelerate numbers CUDA devices; precheck uses the current one.
    max_memory = {0 if name == "cuda" else name: size for name, size in plan.budget.items()}
    return {"device_map": "auto", "max_memory": max_memory,
            "offload_folder": tempfile.mkdtemp(prefix="precheck-offload-")}


def record_placement(plan: MemoryPlan | None, model) -> None:
    """After the reference loaded offloaded: where accelerate put its modules, counted per device."""
    from ..tensors import torch_module

    if plan is None or plan.runs[0].placement != "offload":
        return
    device_map: dict = {}
    for module in torch_module(model).modules():
        device_map.update(getattr(module, "hf_device_map", None) or {})
    counts: dict[str, int] = {}
    for device in device_map.values():
        name = "cuda" if isinstance(device, int) else str(device)
        counts[name] = counts.get(name, 0) + 1
    if list(device_map) == [""]:
        went = f"all on {next(iter(counts))}"
    else:
        went = ", ".join(f"{n} modules on {name}" for name, n in counts.items()) or "unknown"
    plan.runs[0].detail = f"budget {plan.runs[0].detail}; went: {went}"


def plan_scan(options) -> tuple[object, MemoryPlan]:
    """(resolved model, plan) for ScanOptions, with nothing loaded: what `scan --plan-only` shows."""
    from ..devices import resolve_device
    from .load import resolve_model

    model = resolve_model(options.model, options.kind, options.revision)
    device = resolve_device(options.device)
    return model, plan_memory(model, device, options.dtypes, options.max_memory, options.reference_device)
