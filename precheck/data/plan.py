"""A fix plan as data: the precision asked for, the strategy that makes it work and what it keeps,
as precheck.json holds it (`precheck.plan/1`); repair/plans.py applies it and writes its snippets.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..dtypes import BF16_COMPUTE, QUANTIZED, is_quantized

PLAN_SCHEMA = "precheck.plan/1"
# Cheapest first: the order fixes are tried in, and the first verified one is recommended.
FIX_STRATEGIES = ("cast", "autocast", "keep-fp32", "bf16", "fp16")
# The fixes that switch to the other half precision: the dtype their weights load in.
SWITCHES = {"bf16": "bfloat16", "fp16": "float16"}
# A quantized precision's fixes (repair/quantized_search.py), cheapest in memory first: 4-bit layers computing
# in bfloat16 (the same weights), and modules kept out of quantization.
QUANTIZED_FIX_STRATEGIES = ("bf16-compute", "keep-unquantized")
# A quantized precision's fix may also be another precision that passed with fewer parameter bytes
# (repair/quantized_search.py weighs them): "fp16"/"bf16" as above, or a quantized one named as itself.
QUANTIZED_SWITCHES = {name: name for name in QUANTIZED}


@dataclass
class Plan:
    dtype: str  # the dtype the user asked for
    strategy: str  # "load" (nothing to fix) or one of FIX_STRATEGIES
    keep_fp32: list[str] = field(default_factory=list)
    # Children of kept blocks that still run in the low dtype: the block's own code and the edges
    # between its other children stay in float32 (a feed-forward's inner activation may not fit).
    run_low: list[str] = field(default_factory=list)
    # The load options the plan was verified with (LoadOptions.to_dict): precheck.load loads the same way.
    load: dict = field(default_factory=dict)
    # Buffers the installed transformers leaves uninitialised, copied from a fresh instance after the load
    # (reference_check.py): transformers model path -> buffer names in it.
    repair_buffers: dict[str, list[str]] = field(default_factory=dict)
    # A quantized precision's keep-unquantized plan: modules of the transformers model (encoder.layer.3, ...)
    # left out of quantization (llm_int8_skip_modules / modules_to_not_convert).
    keep_unquantized: list[str] = field(default_factory=list)

    @property
    def quantized(self) -> bool:
        return is_quantized(self.dtype)

    @property
    def weights_dtype(self) -> str:
        """The dtype to load the weights in before the plan is applied (a quantized plan: the precision
        loaded, with keep_unquantized)."""
        if self.strategy in ("load", "keep-unquantized"):
            return self.dtype
        if self.strategy == "bf16-compute":
            return BF16_COMPUTE[self.dtype]
        if self.strategy in SWITCHES:
            return SWITCHES[self.strategy]
        if self.strategy in QUANTIZED_SWITCHES:
            return QUANTIZED_SWITCHES[self.strategy]
        return "float32"

    def to_dict(self) -> dict:
        return {"schema": PLAN_SCHEMA, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict) -> "Plan":
        load = data.get("load", {})
        if not isinstance(load, dict):
            raise ValueError(f"load should be an object, got {load!r}")
        repair = data.get("repair_buffers") or {}
        if not isinstance(repair, dict):
            raise ValueError("repair_buffers should map a module path to buffer names")
        return cls(dtype=data["dtype"], strategy=data["strategy"], keep_fp32=list(data.get("keep_fp32", [])),
                   run_low=list(data.get("run_low", [])), load=dict(load),
                   repair_buffers={str(k): [str(n) for n in v] for k, v in repair.items()},
                   keep_unquantized=[str(p) for p in data.get("keep_unquantized", [])])


def plan_problem(plan: Plan) -> str | None:
    """What in a plan does not belong to its precision (None: nothing): a strategy that is not one of its
    fixes, or module lists its strategy would never read. A load of such a plan would give another precision
    than the plan's, or silently less than it says (workflow/fix.py refuses it before loading)."""
    quantized = is_quantized(plan.dtype)
    # A quantized precision's fixes load it (bf16-compute, keep-unquantized) or switch to a smaller passing
    # precision; cast, autocast and keep-fp32 act on float32 weights, which a quantized plan never has.
    strategies = ("load",) + ((*QUANTIZED_FIX_STRATEGIES, *SWITCHES, *QUANTIZED_SWITCHES) if quantized
                              else FIX_STRATEGIES)
    if plan.strategy not in strategies:
        kind = "a quantized precision" if quantized else "a half precision"
        return f"strategy {plan.strategy!r} is not a fix for {plan.dtype}, {kind} (its strategies: " \
               f"{', '.join(s for s in strategies if s != plan.dtype)})"
    if {**SWITCHES, **QUANTIZED_SWITCHES}.get(plan.strategy) == plan.dtype:
        return f"strategy {plan.strategy!r} switches {plan.dtype} to itself"
    if plan.strategy == "bf16-compute" and plan.dtype not in BF16_COMPUTE:
        return f"strategy 'bf16-compute' is for 4-bit weights computing in float16 ({', '.join(BF16_COMPUTE)}), " \
               f"not {plan.dtype}"
    for key, strategy in (("keep_fp32", "keep-fp32"), ("run_low", "keep-fp32"),
                          ("keep_unquantized", "keep-unquantized")):
        if getattr(plan, key) and plan.strategy != strategy:
            return f"{key} is for strategy {strategy!r}; a {plan.strategy!r} plan would ignore it"
    for key, strategy in (("keep_fp32", "keep-fp32"), ("keep_unquantized", "keep-unquantized")):
        if plan.strategy == strategy and not getattr(plan, key):
            return f"strategy {strategy!r} with an empty {key}: it names no module to keep"
    return None
