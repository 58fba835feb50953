"""Fix plans: how to load a model so that a half-precision or quantized dtype works, applied and written out.

A Plan is data (data/plan.py, written into precheck.json); `apply_plan` turns a freshly loaded model
into the planned one, and `snippets` writes the same plan as code a user can paste.
"""
from __future__ import annotations

from ..data.plan import SWITCHES, Plan
from ..dtypes import is_quantized


def check_kept_modules(model, plan: Plan) -> None:
    """Each module the plan's keep_unquantized names is a module of the loaded model's transformers model:
    a name that matches none leaves every module quantized, which is not the plan that was verified."""
    from ..diagnosis.quantized import transformers_prefix
    from ..kinds import torch_module

    if not plan.keep_unquantized:
        return
    net = torch_module(model)
    prefix = transformers_prefix(net)
    inner = net.get_submodule(prefix) if prefix else net
    for path in plan.keep_unquantized:
        _submodule(inner, path, "keep_unquantized")


def _run_in(module, inside, outside) -> None:
    """Run `module` in dtype `inside` within a model that runs in `outside`: its parameters and
    inputs cast to `inside`, its outputs back to `outside`, so its neighbours never see the difference."""
    from ..tensors import cast_floating

    def cast_inputs(m, args, kwargs):
        return cast_floating(args, inside), cast_floating(kwargs, inside)

    def cast_output(m, args, output):
        return cast_floating(output, outside)

    module.to(inside)
    module.register_forward_pre_hook(cast_inputs, with_kwargs=True)
    module.register_forward_hook(cast_output)


def keep_in_float32(model, paths: list[str], low_dtype, run_low: list[str] = ()) -> None:
    """Hold these submodules in float32 inside a low-precision model (cast up at their edges, back
    down on the way out), except the children in `run_low`, which run in the low dtype inside them."""
    import torch

    for path in paths:
        _run_in(_submodule(model, path, "keep_fp32"), torch.float32, low_dtype)
    for path in run_low:
        _run_in(_submodule(model, path, "run_low"), low_dtype, torch.float32)


def _submodule(model, path: str, key: str):
    """A plan's module path in this model; a plan written for another model names one it does not have."""
    from ..errors import PrecheckError

    try:
        return model.get_submodule(path)
    except AttributeError as exc:
        raise PrecheckError(f"the plan's {key} names {path!r}, which this model does not have",
                            "the plan was made for another model: rerun precheck fix on this one") from exc


def run_under_autocast(model, device: str, low_dtype) -> None:
    """Keep float32 weights and let autocast pick the dtype op by op: tensors that the model's
    own code makes in float32 are cast at each matmul, which .half() cannot do."""
    import torch

    forward = model.forward

    def forward_under_autocast(*args, **kwargs):
        with torch.autocast(device_type=device, dtype=low_dtype):
            return forward(*args, **kwargs)

    model.forward = forward_under_autocast


def apply_plan(model, plan: Plan, device: str):
    """`model` was loaded with weights in plan.weights_dtype; returns it with the plan applied."""
    import torch

    from ..kinds import torch_module

    if plan.quantized:  # all of a quantized plan is in how it loads (load_planned)
        return model
    low = getattr(torch, plan.dtype)
    net = torch_module(model)
    if plan.strategy == "cast":
        net.to(low)
    elif plan.strategy == "autocast":
        run_under_autocast(net, device, low)
    elif plan.strategy == "keep-fp32":
        net.to(low)
        keep_in_float32(net, plan.keep_fp32, low, plan.run_low)
    return model


_CAST_HELPER = '''\
def cast(value, dtype):
    if torch.is_tensor(value):
        return value.to(dtype) if value.is_floating_point() else value
    if isinstance(value, MutableMapping):  # dict, BatchEncoding, ModelOutput
        for key in list(value.keys()):
            value[key] = cast(value[key], dtype)
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(cast(v, dtype) for v in value)
    return value

'''


def _constructor_source(kind, load, dtype_source: str | None) -> str:
    """The constructor arguments after the model's name, as the installed sentence-transformers
    spells them (loading/load_arguments.py), with the weights' dtype when the plan loads in it."""
    import json

    from ..loading.load_arguments import constructor_kwargs

    kwargs = constructor_kwargs(kind.name, load)
    kwargs.pop("trust_remote_code")
    _, model_key = kind.api_shape()
    model_kwargs = kwargs.pop(model_key, {})
    parts = []
    if dtype_source or model_kwargs:
        items = ([f'"torch_dtype": {dtype_source}'] if dtype_source else []) + \
            [f"{json.dumps(k)}: {v!r}" for k, v in model_kwargs.items()]
        parts.append(f"{model_key}={{{', '.join(items)}}}")
    parts += [f"{key}={value!r}" for key, value in kwargs.items()]
    return "".join(", " + part for part in parts)


def _run_call(kind, load) -> str:
    """The kind's call, with the encode options (prompt_name, prompt) the scan used."""
    extra = "".join(f", {k}={v!r}" for k, v in load.encode_kwargs().items())
    return kind.run_call[:-1] + extra + ")"


def _after_load(plan: Plan, kind, load, net: str) -> str:
    """What users set on the loaded model: its window, and the buffers the installed transformers
    leaves uninitialised."""
    after = f"model.max_seq_length = {load.max_seq_length}\n" \
        if load.max_seq_length is not None and kind.max_length_argument is None else ""
    return after + _repair_lines(plan, net)


def _precheck_snippet(model_name: str, dtype: str, device: str, extra: str, load, run_call: str) -> str:
    """The same load through precheck.load, which applies the plan in precheck.json."""
    given = "".join(f", {key}={value!r}" for key, value in load.to_dict().items())
    return ("import precheck\n\n"
            f'model = precheck.load({model_name!r}, dtype="{dtype}", device="{device}"'
            f"{extra}{given})  # applies the plan in precheck.json, or finds one\n"
            f"{run_call}\n")


def snippets(plan: Plan, model_name: str, device: str, trust_remote_code: bool = False, kind=None,
             load=None) -> tuple[str, str]:
    """(plain sentence-transformers code, the same with precheck.load) for this plan, loading the
    model as the scan did (`load`: LoadOptions)."""
    from ..kinds import Embedder
    from ..options import LoadOptions

    kind = kind or Embedder()
    load = load or LoadOptions(trust_remote_code=trust_remote_code)
    if is_quantized(plan.weights_dtype):
        return _quantized_snippets(plan, model_name, device, trust_remote_code, kind, load)
    cls = kind.class_name
    net, _ = kind.api_shape()
    low = f"torch.{plan.dtype}"
    extra = ", trust_remote_code=True" if trust_remote_code else ""
    run_call = _run_call(kind, load)
    head = f"import torch\nfrom sentence_transformers import {cls}\n\n"
    if plan.strategy == "keep-fp32":
        head = "from collections.abc import MutableMapping\n\n" + head
    load_line = f'model = {cls}({model_name!r}, device="{device}"{extra}'
    after = _after_load(plan, kind, load, net)
    if plan.strategy == "load" or plan.strategy in SWITCHES:
        dtype = low if plan.strategy == "load" else f"torch.{SWITCHES[plan.strategy]}"
        body = f"{load_line}{_constructor_source(kind, load, dtype)})\n{after}"
    else:
        body = f"{load_line}{_constructor_source(kind, load, None)})"
    if plan.strategy == "cast":
        body += f"\n{after}{net}.to({low})  # casts every module\n"
    elif plan.strategy == "autocast":
        body += (
            f"  # float32 weights\n{after}"
            f'with torch.autocast("{device}", dtype={low}):\n'
            f"    {run_call}\n"
        )
    elif plan.strategy == "keep-fp32":
        body = (
            _CAST_HELPER
            + f"{body}\n{after}{net}.to({low})\n"
            + f"for path in {plan.keep_fp32!r}:  # kept in float32, cast at their edges\n"
            + f"    block = {net}.get_submodule(path).float()\n"
            + "    block.register_forward_pre_hook(\n"
            + "        lambda m, args, kwargs: (cast(args, torch.float32), cast(kwargs, torch.float32)), with_kwargs=True\n"
            + "    )\n"
            + f"    block.register_forward_hook(lambda m, args, output: cast(output, {low}))\n"
        )
        if plan.run_low:
            body += (
                f"for path in {plan.run_low!r}:  # inside the kept blocks, these still run in {plan.dtype}\n"
                + f"    block = {net}.get_submodule(path).to({low})\n"
                + "    block.register_forward_pre_hook(\n"
                + f"        lambda m, args, kwargs: (cast(args, {low}), cast(kwargs, {low})), with_kwargs=True\n"
                + "    )\n"
                + "    block.register_forward_hook(lambda m, args, output: cast(output, torch.float32))\n"
            )
    if run_call not in body:
        body += run_call + "\n"
    short = {"float16": "fp16", "bfloat16": "bf16"}.get(plan.dtype, plan.dtype)
    return head + body, _precheck_snippet(model_name, short, device, extra, load, run_call)


def _quantized_snippets(plan: Plan, model_name: str, device: str, trust_remote_code: bool, kind,
                        load) -> tuple[str, str]:
    """A quantized plan as code: the precision's quantization_config in model_kwargs, with the modules
    kept out of quantization, and nothing done after the load (buffers repaired as for half precision)."""
    from ..loading.quantization import config_code, config_imports

    cls = kind.class_name
    net, model_key = kind.api_shape()
    precision = plan.weights_dtype
    config = config_code(precision, plan.keep_unquantized)
    source = _constructor_source(kind, load, None)
    entry = f'"quantization_config": {config}'
    # _constructor_source writes model_kwargs first when the load options have some: the config joins them.
    if source.startswith(f", {model_key}={{"):
        source = f", {model_key}={{{entry}, " + source[len(f', {model_key}={{'):]
    else:
        source = f", {model_key}={{{entry}}}" + source
    extra = ", trust_remote_code=True" if trust_remote_code else ""
    after = _after_load(plan, kind, load, net)
    run_call = _run_call(kind, load)
    plain = (f"import torch\n{config_imports(precision)}from sentence_transformers import {cls}\n\n"
             f'model = {cls}({model_name!r}, device="{device}"{extra}{source})\n{after}{run_call}\n')
    return plain, _precheck_snippet(model_name, plan.dtype, device, extra, load, run_call)


def _repair_lines(plan: Plan, net: str) -> str:
    from ..diagnosis.reference_check import BufferRepair, repair_snippet

    return repair_snippet(BufferRepair(dict(plan.repair_buffers)), net) if plan.repair_buffers else ""


def plan_from_report(report, dtype: str) -> Plan | None:
    """`load` when the dtype already passes as users load it; else the recommended fix. Either way
    with the load options the scan was given and the buffer repair the float32 reference needed,
    which every load of the scan had."""
    given = dict(getattr(report.settings, "load", {}) or {})
    buffers = report.reference.buffers
    repair = {k: list(v) for k, v in buffers.by_owner.items()} if buffers is not None else {}
    loaded = report.result(dtype, "load")
    # With --eval, "load" is the plan only when the dtype as loaded keeps the metric too.
    evaluation = getattr(report, "evaluation", None)
    row = next((r for r in evaluation.results if r.dtype == dtype), None) if evaluation is not None else None
    if loaded.status == "ok" and (evaluation is None or (row is not None and row.passed)):
        return Plan(dtype, "load", load=given, repair_buffers=repair)
    best = report.recommended_fix(dtype)
    if best is None:
        return None
    return Plan(dtype, best.strategy, list(best.keep_fp32), list(best.run_low), load=given, repair_buffers=repair,
                keep_unquantized=list(best.keep_unquantized))
