"""Where a scan's models come from: a name or folder, loaded as users load it, or a model object the
user holds, copied. The session asks its source for the float32 reference and for each dtype's model.

An object is never changed: every model a scan alters is a copy, and the object's train/eval modes
are put back when the scan ends (encode() and predict() switch a model to eval).
"""
from __future__ import annotations

from contextlib import contextmanager, nullcontext

from .resolve import ResolvedModel

# How the `load` strategy makes an object's model: no checkpoint to read again, so the object is
# copied and cast, as `cast` does; the scan then finds the same weights and reports `same_as: load`.
OBJECT_LOAD = "copy, then .to(dtype): an in-memory model has no checkpoint to load in a dtype"


class NamedSource:
    """A name or folder: each model is a fresh load, as users make it (load.py)."""

    checks_buffers = True  # a fresh load may hold uninitialised buffers (diagnosis/reference_check.py)
    notes: tuple[str, ...] = ()

    def __init__(self, resolved: ResolvedModel, load_options) -> None:
        self.resolved, self.load_options = resolved, load_options

    def reference(self, device: str, placement: str, offload: dict):
        from .load import load_reference_model

        return load_reference_model(self.resolved, device, self.load_options, placement, offload)

    def load(self, device: str, dtype: str | None):
        from .load import load_model

        return load_model(self.resolved, device, dtype, self.load_options)

    def kept_as_given(self):
        return nullcontext()

    def default_dtype(self) -> str:
        from .defaults import default_dtype

        return default_dtype(self.resolved.path)

    def model_type(self) -> str:
        from .defaults import model_type

        return model_type(self.resolved.path)


class ObjectSource:
    """A loaded model: the reference is the object itself when it is float32 on the scan's device
    (no second copy in memory); every other model is a deep copy, made when asked and let go after."""

    checks_buffers = False  # its buffers are what the user's model computes with: nothing is reloaded

    def __init__(self, obj, resolved: ResolvedModel) -> None:
        refuse_meta(obj, resolved.name)
        self.obj, self.resolved = obj, resolved
        self.notes: tuple[str, ...] = (f"{resolved.name}: each dtype's model is a {OBJECT_LOAD} (load == cast)",)

    def _parameters(self):
        from ..kinds import torch_module

        return list(torch_module(self.obj).parameters()) + list(torch_module(self.obj).buffers())

    def dtype(self) -> str:
        from ..dtypes import dtype_name

        floating = {dtype_name(t.dtype) for t in self._parameters() if t.is_floating_point()}
        return floating.pop() if len(floating) == 1 else ("mixed" if floating else "float32")

    def device(self) -> str:
        types = {t.device.type for t in self._parameters()}
        return types.pop() if len(types) == 1 else "mixed"

    def is_reference(self, device: str) -> bool:
        return self.dtype() == "float32" and self.device() == device

    def reference(self, device: str, placement: str, offload: dict):
        return self.obj if self.is_reference(device) else self.load(device, None)

    def load(self, device: str, dtype: str | None):
        import copy

        import torch

        from ..kinds import torch_module

        model = copy.deepcopy(self.obj)
        torch_module(model).to(device=device, dtype=getattr(torch, dtype or "float32"))
        return model.eval()

    @contextmanager
    def kept_as_given(self):
        """The object's train/eval modes, module by module, put back whatever the scan did."""
        modes = [(module, module.training) for module in self.obj.modules()]
        try:
            yield
        finally:
            for module, training in modes:
                module.training = training  # the attribute, not train(), which would reach the children too

    def default_dtype(self) -> str:
        """What the user runs it in: its own dtype (float32 when its parameters mix dtypes)."""
        return self.dtype() if self.dtype() != "mixed" else "float32"

    def model_type(self) -> str:
        from transformers import PreTrainedModel

        found = next((m for m in self.obj.modules() if isinstance(m, PreTrainedModel)), None)
        value = getattr(getattr(found, "config", None), "model_type", "") if found is not None else ""
        return value if isinstance(value, str) else ""

    def described(self) -> dict:
        """The report's account of the object: class, pipeline modules, dtype, device, weights' origin."""
        modules = [f"{name}: {type(m).__name__}" for name, m in self.obj.named_children()]
        return {"class_name": type(self.obj).__name__, "modules": modules, "dtype": self.dtype(),
                "device": self.device(), "weights_from": self.resolved.path}


def refuse_meta(obj, name: str) -> None:
    """Tensors on the meta device have a shape and no values (a model built under init_empty_weights, or
    loaded with weights offloaded by accelerate): nothing to copy, cast or run, so nothing to check."""
    from ..errors import PrecheckError
    from ..kinds import torch_module

    net = torch_module(obj)
    empty = [path for path, t in [*net.named_parameters(), *net.named_buffers()] if t.device.type == "meta"]
    if empty:
        raise PrecheckError(f"{name} has {len(empty)} tensor(s) on the meta device, which hold no values "
                            f"({', '.join(empty[:3])}{', ...' if len(empty) > 3 else ''})",
                            "load its weights into memory first (no init_empty_weights, no offloading "
                            "device_map), or pass the model's name or folder instead")


def model_source(options, resolved: ResolvedModel):
    """The source of the scan's models: the object given, or the resolved name."""
    if resolved.source == "object":
        return ObjectSource(options.model, resolved)
    return NamedSource(resolved, options.load)
