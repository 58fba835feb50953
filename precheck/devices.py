"""The device a run goes to (--device auto, cpu, cuda, mps) and whether it runs a dtype at all: a leaf,
so that option checks can resolve `auto` without importing the loader."""
from __future__ import annotations

from .errors import PrecheckError


def resolve_device(device: str) -> str:
    import torch

    choice = device.strip().lower()
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cpu":
        return "cpu"
    if choice == "cuda":
        if not torch.cuda.is_available():
            raise PrecheckError("--device cuda was asked for, but torch sees no CUDA device", "use --device cpu or auto")
        return "cuda"
    if choice == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise PrecheckError("--device mps was asked for, but torch sees no MPS device", "use --device cpu or auto")
        return "mps"
    raise PrecheckError(f"unknown device {device!r}", "use auto, cpu, cuda or mps")


def device_supports(device: str, dtype: str) -> tuple[bool, str]:
    """Whether the device can run the dtype at all, asked before loading so that an
    unsupported pair is a result ('unsupported'), not a crash."""
    import torch

    if device == "cuda" and dtype == "bfloat16" and not torch.cuda.is_bf16_supported():
        return False, f"{torch.cuda.get_device_name()} has no native bfloat16 support"
    return True, ""
