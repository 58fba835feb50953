"""The one resolver: any door's raw option values -> checked ScanOptions values, once.

The doors are the command line (scan, fix, ci, train-check), a `[tool.precheck]` defaults or model
table, the Python keywords of precheck.scan / load / fix and the callbacks, and a plan file's load
options. Each is a `Door`: how it names an option in a message and how it gives a value; `resolve`
is the one loop that runs every value through the check its option's row of the table gives it
(options.py), then the checks across options (`check_across`). A refusal is an OptionRefused that
carries the option's field name, whatever the door called it. No torch import.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from .errors import OptionRefused, PrecheckError
from .options import PYTHON_ONLY, LoadOptions, Option, ScanOptions, default_of, is_model_object, scan_fields
from .option_checks import one_dtype, parse_max_memory, refuse_foreign_budget


def _given(field, how: Option, value) -> bool:
    """Python keywords, config and plan values: None stands for "not given" where the option's
    default is None; anywhere else None is a value, refused by the option's check."""
    return not (value is None and field.default is None)


def _unknown_option(key: str, known: list[str]) -> OptionRefused:
    return OptionRefused(f"{key}: unknown option", f"known options: {', '.join(known)}", key)


@dataclass(frozen=True)
class Door:
    """One way options come in."""

    name: Callable[[str], str]  # field -> what this door's messages call it (a flag, a config key's full name)
    key: Callable[[str], str] = str  # field -> the key its raw value comes under
    takes: tuple[str, ...] | None = None  # the fields this door takes (None: every option)
    unknown: Callable[[str, list[str]], OptionRefused] = _unknown_option  # (key, known keys) -> the refusal
    given: Callable[[Any, Option, Any], bool] = _given  # (field, option, value) -> whether it was given
    flags: bool = False  # the command line: a --no-X flag given (True) turns its option off
    typed: bool = False  # TOML: the value must first be of the option's config_type
    across: bool = True  # run the checks across options (a config table waits for its defaults)
    checks: dict = field(default_factory=dict)  # field -> the check this door takes instead of the table's


def resolve(raw: dict, door: Door) -> dict:
    """`raw` (keyed as the door keys its options) -> {field: checked value} of the options given; an
    unknown key is refused before any value is checked."""
    rows = {door.key(f.name): (f, how) for f, how in scan_fields() if door.takes is None or f.name in door.takes}
    unknown = [key for key in raw if key not in rows]
    if unknown:
        raise door.unknown(unknown[0], sorted(rows))
    checked = {}
    for key, value in raw.items():
        f, how = rows[key]
        if not door.given(f, how, value):
            continue
        where = door.name(f.name)
        try:
            if door.typed:
                _check_type(value, how.config_type, where)
            if door.flags and how.negated:
                value = not value
            checked[f.name] = door.checks.get(f.name, how.check)(value, where)
        except OptionRefused:
            raise
        except PrecheckError as exc:
            raise OptionRefused(exc.message, exc.hint, f.name) from exc
    if door.across:
        check_across(checked, door.name)
    return checked


_TOML_TYPES = {str: "a string", bool: "a boolean", int: "an integer", list: "a list", dict: "a table"}


def _check_type(value, expected, where: str) -> None:
    if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
        raise PrecheckError(f"{where} should be {_TOML_TYPES.get(expected, 'a number')}, got {value!r}")


def cli_flag(name: str) -> str:
    return next(how for f, how in scan_fields() if f.name == name).flags[0]


def _cli_given(field, how: Option, value) -> bool:
    """Typer's "left at the default": None, an empty repeated flag, a --no-X flag not given."""
    return value is not None and not (isinstance(value, list) and not value) and not (how.negated and value is False)


COMMAND_LINE = Door(name=cli_flag, given=_cli_given, flags=True)
# fix's and train-check's command line: --dtype names the one precision written or trained.
ONE_DTYPE_LINE = replace(COMMAND_LINE, checks={"dtypes": one_dtype()})
HALF_DTYPE_LINE = replace(COMMAND_LINE, checks={"dtypes": one_dtype(quantized=False)})
KEYWORDS = Door(name=str)


def config_key(name: str) -> str:
    how = next(how for f, how in scan_fields() if f.name == name)
    return how.config_key or name


def config_table(where: str, extra: tuple[str, ...] = ()) -> Door:
    """A [tool.precheck] defaults or model table named `where`; `extra`: its keys that are no option (name)."""
    return Door(name=lambda name: f"{where}.{config_key(name)}", key=config_key, typed=True, across=False,
                unknown=lambda key, known: OptionRefused(f"{where}.{key}: unknown key",
                                                         f"known keys: {', '.join(sorted([*known, *extra]))}", key))


LOAD_FIELDS = tuple(name for name in LoadOptions.__dataclass_fields__ if name != "trust_remote_code")


def plan_file(path) -> Door:
    """A plan file's `load` block (precheck.json): the load options a plan was verified with."""
    return Door(name=lambda name: f"{path} load.{name}", takes=LOAD_FIELDS,
                unknown=lambda key, known: OptionRefused(f"{path} load.{key}: unknown load option",
                                                         "delete the file, or rerun precheck fix", key))


def options_for(model, values: dict) -> ScanOptions:
    """ScanOptions of a model from checked values (resolve's), with the rules for the model itself:
    a name, a folder or a loaded object; an object takes no option that reads a checkpoint, and no
    quantized precision."""
    if is_model_object(model):
        options = ScanOptions(model=model, **values)
        refuse_name_only(options)
        refuse_quantized(options.dtypes)
        return options
    if not isinstance(model, (str, Path)):
        # An empty name is resolve_model's to refuse ("MODEL is empty"), as the CLI has always said it.
        raise PrecheckError(f"model should be a model name, a folder path or a loaded model, got {model!r}",
                            "pass a hub id such as sentence-transformers/all-MiniLM-L6-v2, a folder, or a "
                            "SentenceTransformer / CrossEncoder / SparseEncoder / MultiVectorEncoder object")
    return ScanOptions(model=str(model), **values)




def api_options(model, **values) -> ScanOptions:
    """ScanOptions from the Python API's keywords (precheck.scan, load, fix, the callbacks). A Python-only
    field (options.PYTHON_ONLY: `evaluator`, an object no flag or config key can carry) is passed through
    here and meets the others only in the checks across options."""
    given = {name: values.pop(name, None) for name in PYTHON_ONLY}
    python_only = {name: value for name, value in given.items() if value is not None}
    checked = resolve(values, replace(KEYWORDS, across=False))
    check_across({**checked, **python_only}, KEYWORDS.name)
    return options_for(model, {**checked, **python_only})


def scan_options(model: str, raw: dict, door: Door = COMMAND_LINE) -> ScanOptions:
    """ScanOptions from a command's collected CLI values (checked here, before anything else runs)."""
    return options_for(model, resolve(raw, door))


def refuse_name_only(options: ScanOptions) -> None:
    """The one rule for an object, whatever the door (precheck.scan, precheck.fix, the callback, the
    assertion): options that say how a checkpoint is read have nothing to act on, so they are refused."""
    for f, how in scan_fields():
        if not how.name_only:
            continue
        value = getattr(options, f.name)
        if value not in (f.default, None, {}) and not (f.name == "trust_remote_code" and value is False):
            raise OptionRefused(f"{f.name} is for a model name or folder; an in-memory "
                                f"{type(options.model).__name__} is already loaded",
                                f"leave {f.name} out, or pass the model's name or folder instead", f.name)


def refuse_quantized(dtypes) -> None:
    """A quantized precision is made as a model loads (a quantization_config read with its checkpoint):
    an object has loaded already, so precheck has no way to quantize it, whatever the model."""
    from .dtypes import is_quantized

    asked = [dtype for dtype in dtypes if is_quantized(dtype)]
    if asked:
        raise OptionRefused(f"{', '.join(asked)} asked of an in-memory model: precheck quantizes a model only as "
                            "it loads it from its files, and an object is loaded already",
                            "save it with model.save(FOLDER) and scan FOLDER, or ask fp16/bf16 of the object", "dtypes")


def _refuse(message: str, hint: str, option: str):
    raise OptionRefused(message, hint, option)


def check_across(values: dict, where: Callable[[str], str]) -> None:
    """The checks across options (by field name), the same for every door; `where` names a field as
    the door does."""
    if values.get("prompt") is not None and values.get("prompt_name") is not None:
        _refuse(f"{where('prompt')} and {where('prompt_name')} both given", "give one", "prompt")
    if values.get("eval") is not None and values.get("evaluator") is not None:
        _refuse(f"{where('eval')} and evaluator both given: each is the metric the gate reads",
                "give one: eval= a labelled set (BEIR folder or scored pairs), or evaluator= your "
                "sentence-transformers evaluator object", "evaluator")
    if values.get("attn_implementation") and "attn_implementation" in values.get("model_kwargs", {}):
        _refuse(f"{where('attn_implementation')} and attn_implementation in {where('model_kwargs')} both given",
                "give it once", "attn_implementation")
    # Options that only act on --storage / --eval: a value other than the default without them is refused.
    for name, needs, what, hint in (
            ("rescore_multiplier", "storage", "it sets how an index rescores int8/uint8/binary vectors", "int8"),
            ("rescore_with", "storage", "it sets what an index rescores against", "int8"),
            ("calibration_file", "storage", "it calibrates int8/uint8 storage", "int8"),
            ("max_metric_drop", "eval", "it gates the metric on your labelled set", "PATH")):
        if values.get(name) not in (None, default_of(name)) and not values.get(needs) \
                and not (needs == "eval" and values.get("evaluator") is not None):
            leave = "leave the calibration out" if name == "calibration_file" else "leave it out"
            _refuse(f"{where(name)} is for {where(needs)}: {what}", f"add {where(needs)} {hint} (or {leave})", name)
    device = values.get("device")
    names_a_device = set(parse_max_memory(values.get("max_memory"))) - {"cpu"} or \
        values.get("reference_device") not in (None, "auto", "cpu")
    if device in (None, "auto"):
        if not names_a_device:
            return
        # Resolved here (torch is imported only for such a budget), so that a run that never
        # resolves its device, as a ci shard with no models, refuses it all the same.
        from .devices import resolve_device

        device = resolve_device("auto")
    try:
        refuse_foreign_budget(values.get("max_memory"), device, where("max_memory"))
    except PrecheckError as exc:
        raise OptionRefused(exc.message, exc.hint, "max_memory") from exc
    if values.get("reference_device") not in (None, "auto", "cpu", device):
        _refuse(f"{where('reference_device')} {values['reference_device']} with the run on {device}",
                "use cpu (or leave it out)", "reference_device")
