"""Hooks that find where a low-precision run goes wrong, and how close float32 runs to the edge.

Each takes the torch module to hook (`net`) and a callable that runs the model as users do.
find_error_module: the innermost module running when encode()/predict() raised, and why.
find_first_nonfinite: the first module whose output is NaN/inf while its inputs were finite.
Per-block headroom and drift against float32 are in blocks.py.
"""
from __future__ import annotations

import re
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..data.report import Diagnosis
from ..tensors import all_finite, dtype_names, floating_tensors

_UNSUPPORTED = re.compile(r"not implemented for '(Half|BFloat16)'|does not support (float16|bfloat16|half)", re.I)
# Two floating dtypes met in one op. The wording differs by op, kernel and torch version:
# "mat1 and mat2 must have the same dtype, but got Half and Float", "expected m1 and m2 to have the
# same dtype, but got: float != c10::Half", "expected scalar type Half but found Float", "Input type
# (float) and bias type (c10::Half) should be the same", "mixed dtype (CPU): expect parameter to have
# scalar type of Float", "Expected query, key, and value to have the same dtype".
_MISMATCH = re.compile(
    r"same dtype|same type|should be the same|expected scalar type|mixed dtype|dtype mismatch|"
    r"dtypes? (do not|don't|must) match|expected .*dtype.* but got", re.I)
_FLOAT_WORD = re.compile(r"half|bfloat16|float|double|\bf(16|32|64)\b", re.I)
# A Python constant in the model's code (masked_fill(mask, -1e9)) that the dtype cannot hold.
_CONSTANT = re.compile(r"value cannot be converted to type (?:at::|c10::)?(Half|BFloat16|Float8\w*) without overflow",
                       re.I)


def is_unsupported_message(message: str) -> bool:
    return bool(_UNSUPPORTED.search(message))


def is_dtype_mismatch_message(message: str) -> bool:
    """Whether an error says two floating dtypes met in one op (not that one has no kernel)."""
    return bool(_MISMATCH.search(message)) and bool(_FLOAT_WORD.search(message)) \
        and not is_unsupported_message(message)


@dataclass
class _Frame:
    path: str
    input_dtypes: list[str]
    output_dtypes: list[str] = field(default_factory=list)
    done: list["_Frame"] = field(default_factory=list)
    # Read on entry: a module that fills in the dict it was given (sentence-transformers' pipeline
    # modules do) has, on exit, its own output among its inputs.
    inputs_finite: bool = True


@contextmanager
def module_hooks(net, pre=None, post=None, only: set[str] | None = None):
    """Hooks on every named submodule (or those in `only`), removed on the way out."""
    handles = []
    try:
        for path, module in net.named_modules():
            if not path or (only is not None and path not in only):
                continue
            if pre is not None:
                handles.append(module.register_forward_pre_hook(
                    lambda m, args, kwargs, p=path: pre(p, m, args, kwargs), with_kwargs=True))
            if post is not None:
                handles.append(module.register_forward_hook(
                    lambda m, args, kwargs, out, p=path: post(p, m, args, kwargs, out), with_kwargs=True))
        yield
    finally:
        for handle in handles:
            handle.remove()


def _floating_param_dtypes(module) -> list[str]:
    return dtype_names(p for p in module.parameters() if p.is_floating_point())


class RunTracker:
    """Hooks that stay on one model while it runs as users run it: which modules are running when
    it raises, and, per batch, the first module whose output turns non-finite from finite input.
    The keep-fp32 search uses one to verify a plan and locate its next culprit in the same run."""

    def __init__(self) -> None:
        self.net = None
        self.stack: list[_Frame] = []
        self.first_nonfinite: list[str] = []  # one entry per batch that went non-finite
        self._batch_culprit: str | None = None
        self._handles: list = []

    def attach(self, net) -> "RunTracker":
        self.net = net
        for path, module in net.named_modules():
            if path:
                self._handles.append(module.register_forward_pre_hook(
                    lambda m, args, kwargs, p=path: self._enter(p, args, kwargs), with_kwargs=True))
                self._handles.append(module.register_forward_hook(
                    lambda m, args, kwargs, out, p=path: self._leave(p, args, kwargs, out), with_kwargs=True))
        return self

    def detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self.net = None

    def _enter(self, path, args, kwargs) -> None:
        inputs = floating_tensors((args, kwargs))
        self.stack.append(_Frame(path, dtype_names(inputs),
                                 inputs_finite=self._batch_culprit is not None or all_finite(inputs)))

    def _leave(self, path, args, kwargs, output) -> None:
        frame = self.stack.pop()
        outputs = floating_tensors(output)
        frame.output_dtypes = dtype_names(outputs)
        if self._batch_culprit is None and outputs and frame.inputs_finite and not all_finite(outputs):
            self._batch_culprit = path
        if self.stack:
            self.stack[-1].done.append(frame)
        elif self._batch_culprit is not None:
            self.first_nonfinite.append(self._batch_culprit)
            self._batch_culprit = None

    def error_diagnosis(self, requested: str, strategy: str, message: str) -> Diagnosis:
        return _classify(self.net, self.stack, requested, strategy, message)

    def nonfinite_culprit(self) -> str | None:
        """The module most batches agree on; the earliest on a tie."""
        if not self.first_nonfinite:
            return None
        counts = Counter(self.first_nonfinite)
        return max(dict.fromkeys(self.first_nonfinite), key=lambda p: counts[p])


def find_error_module(net, run, requested: str, strategy: str) -> Diagnosis | None:
    """Run with module entry/exit tracked; on an exception, name the innermost running module."""
    tracker = RunTracker().attach(net)
    try:
        run()
    except Exception as exc:  # noqa: BLE001 - the failure is what we came to see
        message = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        return tracker.error_diagnosis(requested, strategy, message)
    finally:
        tracker.detach()
    return None


def wholly_uncast(net, requested: str, strategy: str) -> Diagnosis | None:
    """The first top-level module whose floating parameters a `requested` load left all in another dtype
    (loading/inventory.py's DtypeNotReached): torch_dtype does not reach it."""
    for path, module in net.named_children():
        params = _floating_param_dtypes(module)
        if params and requested not in params:
            detail = (f"{type(module).__name__} at {path} kept {'/'.join(params)} parameters while the model was "
                      f"loaded in {requested}: torch_dtype does not reach it, so the load is not {requested}")
            return Diagnosis(requested, strategy, "uncast-module", path, detail,
                             module_class=type(module).__name__, param_dtypes=params)
    return None


def _classify(net, stack: list[_Frame], requested: str, strategy: str, message: str) -> Diagnosis:
    if not stack:
        return Diagnosis(requested, strategy, "device-unsupported" if is_unsupported_message(message) else "other",
                         "", f"raised outside every module (in encode()/predict() itself): {message}")
    inner = stack[-1]
    module = net.get_submodule(inner.path)
    params = _floating_param_dtypes(module)
    base = dict(module_class=type(module).__name__, param_dtypes=params, input_dtypes=inner.input_dtypes)
    if is_unsupported_message(message):
        detail = f"{type(module).__name__} at {inner.path} has no {requested} kernel on this device: {message}"
        return Diagnosis(requested, strategy, "device-unsupported", inner.path, detail, **base)
    if _CONSTANT.search(message):
        detail = (f"{type(module).__name__} at {inner.path}: a constant in the model's code is outside {requested}'s "
                  f"range (largest float16: 65504), such as masked_fill(mask, -1e9); bfloat16 (float32's range) or "
                  f"keeping this block in float32 works: {message}")
        return Diagnosis(requested, strategy, "constant-out-of-range", inner.path, detail, **base)
    if any(d != requested for d in params):
        # Name the outermost module that is wholly uncast: the Dense, not its inner Linear.
        outer = inner
        for frame in reversed(stack[:-1]):
            if any(d == requested for d in _floating_param_dtypes(net.get_submodule(frame.path))):
                break
            outer = frame
        outer_module = net.get_submodule(outer.path)
        detail = (
            f"{type(outer_module).__name__} at {outer.path} kept {'/'.join(params)} parameters while the model "
            f"was loaded in {requested}; its input arrived as {'/'.join(inner.input_dtypes) or 'no floats'}: {message}"
        )
        return Diagnosis(requested, strategy, "uncast-module", outer.path, detail,
                         module_class=type(outer_module).__name__, param_dtypes=params,
                         input_dtypes=inner.input_dtypes)
    if any(d != requested for d in inner.input_dtypes):
        producer, where = _find_producer(stack, requested)
        detail = (
            f"{type(module).__name__} at {inner.path} holds {requested} parameters but received "
            f"{'/'.join(inner.input_dtypes)} input; {where}: {message}"
        )
        return Diagnosis(requested, strategy, "float32-in-forward", inner.path, detail, producer=producer, **base)
    if is_dtype_mismatch_message(message):
        # Parameters and inputs are all in the requested dtype, yet two dtypes met inside this
        # forward: its own code made the other one (torch.arange(n).float(), a default-dtype tensor).
        detail = (
            f"{type(module).__name__} at {inner.path} holds {requested} parameters and received "
            f"{'/'.join(inner.input_dtypes) or 'no floating'} input; float32 was made inside the forward of "
            f"{inner.path}: {message}"
        )
        return Diagnosis(requested, strategy, "float32-in-forward", inner.path, detail, producer=inner.path, **base)
    return Diagnosis(requested, strategy, "other", inner.path, f"{type(module).__name__} at {inner.path}: {message}",
                     **base)


def _find_producer(stack: list[_Frame], requested: str) -> tuple[str | None, str]:
    """Walk outwards: a finished child that turned low-precision input into float32, or the
    innermost running module whose own inputs were clean (so its own code made float32)."""
    for frame in reversed(stack[:-1]):
        for child in reversed(frame.done):
            if any(d != requested for d in child.output_dtypes) and all(d == requested for d in child.input_dtypes):
                return child.path, f"{child.path} returned {'/'.join(child.output_dtypes)} from {requested} input"
        if all(d == requested for d in frame.input_dtypes):
            return frame.path, f"float32 was made inside the forward of {frame.path} (.float(), a default-dtype tensor)"
    return None, "its origin is outside the hooked modules"


def find_first_nonfinite(net, items: list, run_one, token_count, requested: str, strategy: str,
                         skip: set[int]) -> Diagnosis | None:
    """Run item by item; for each, the first module (in execution order) whose output is
    non-finite while its inputs were finite. The culprit is the one most items agree on."""
    first: dict[int, str] = {}
    current: dict = {}
    entered: list[bool] = []  # per running module: were its inputs finite when it started?

    def enter(path, module, args, kwargs):
        entered.append("path" not in current and all_finite(floating_tensors((args, kwargs))))

    def check(path, module, args, kwargs, output):
        inputs_finite = entered.pop() if entered else False
        if "path" in current:
            return
        outputs = floating_tensors(output)
        if outputs and inputs_finite and not all_finite(outputs):
            current["path"] = path

    with module_hooks(net, pre=enter, post=check):
        for index, item in enumerate(items):
            if index in skip:
                continue
            current.clear()
            entered.clear()
            run_one(item)
            if "path" in current:
                first[index] = current["path"]
    if not first:
        return None
    culprit, _ = Counter(first.values()).most_common(1)[0]
    triggering = sorted(first)
    module = net.get_submodule(culprit)
    detail = (
        f"{type(module).__name__} at {culprit} is the first to output NaN/inf from finite input "
        f"({len(triggering)} of {len(items) - len(skip)} probe items); "
        f"{_length_note(items, token_count, triggering, skip)}"
    )
    return Diagnosis(requested, strategy, "overflow", culprit, detail, module_class=type(module).__name__,
                     param_dtypes=_floating_param_dtypes(module), probe_items=triggering)


def _length_note(items, token_count, triggering, skip) -> str:
    def count(item) -> int:
        try:
            return token_count(item)
        except Exception:  # noqa: BLE001 - a length is a hint, not a requirement
            return len(str(item).split())

    lengths = {i: count(t) for i, t in enumerate(items) if i not in skip}
    hit = [lengths[i] for i in triggering]
    rest = [n for i, n in lengths.items() if i not in triggering]
    if not rest:
        return f"every probe item triggers it (shortest {min(hit)} tokens)"
    if min(hit) > max(rest):
        return f"only the long inputs trigger it ({min(hit)}+ tokens; the rest are at most {max(rest)})"
    return f"inputs of {min(hit)} to {max(hit)} tokens trigger it, so it is not only about length"
