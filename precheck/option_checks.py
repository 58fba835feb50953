"""The checks of the options table (options.py): one per kind of value, each taking the value as the
CLI or the TOML gives it and `where` (the flag, or the config key's full name) for its one-line error.
"""
from __future__ import annotations

import importlib.util
import json
import re
from importlib import metadata
from pathlib import Path

from .dtypes import LIBRARY, NEEDS, is_quantized, parse_low_dtypes, parse_precisions
from .errors import PrecheckError, install_hint


def number(kind: type, value, where: str):
    if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else int):
        raise PrecheckError(f"{where} should be a{'n integer' if kind is int else ' number'}, got {value!r}")
    return kind(value)


def share(open_low: bool):
    def check(value, where):
        value = number(float, value, where)
        if not (0.0 < value <= 1.0 if open_low else 0.0 <= value <= 1.0):
            raise PrecheckError(f"{where} must be in {'(0' if open_low else '[0'}, 1], got {value}")
        return value
    return check


def drop_value(value, where):
    """An absolute drop of a metric in [-1, 1] (nDCG, Spearman): from 0 to 2."""
    value = number(float, value, where)
    if not 0.0 <= value <= 2.0:
        raise PrecheckError(f"{where} must be in [0, 2], got {value}", "an absolute drop, e.g. 0.01")
    return value


def at_least_one(value, where):
    value = number(int, value, where)
    if value < 1:
        raise PrecheckError(f"{where} must be at least 1, got {value}")
    return value


def optional(check):
    return lambda value, where: None if value is None else check(value, where)


def flag(value, where):
    if not isinstance(value, bool):
        raise PrecheckError(f"{where} should be true or false, got {value!r}")
    return value


def no_fix(value, where):
    """--no-fix / --no-cache on the CLI (True turns it off); `fix` / `cache` in the config (False turns it off)."""
    return not flag(value, where) if where.startswith("--") else flag(value, where)


def non_empty_text(value, where):
    if not isinstance(value, str) or not value.strip():
        raise PrecheckError(f"{where} should be a non-empty string, got {value!r}")
    return value.strip()


def choice(choices: tuple[str, ...], what: str, lower: bool = True):
    def check(value, where):
        text = non_empty_text(value, where)
        text = text.lower() if lower else text
        if text not in choices:
            raise PrecheckError(f"{where}: unknown {what} {value!r}", f"use {', '.join(choices)}")
        return text
    return check


def low_dtypes(value, where):
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value) or \
            (not value and not where.startswith("--")):
        raise PrecheckError(f"{where} should be a non-empty list of dtype names such as [\"fp16\", \"bf16\"]")
    try:
        names = parse_low_dtypes(list(value))
    except PrecheckError as exc:
        prefix = "" if where.startswith("--") else f"{where}: "
        raise PrecheckError(f"{prefix}{exc.message}", exc.hint) from exc
    check_quantization_available(names, where)
    return names


# transformers 4.x (the sentence-transformers 3.0.1 stack) loads bitsandbytes only on a CUDA GPU and
# takes torchao's modes as strings: the precisions are checked from transformers 5 on.
FIRST_TRANSFORMERS = 5


def _installed(package: str) -> bool:
    # find_spec imports nothing; a name set to None in sys.modules reads as absent, as it does for import.
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def check_quantization_available(dtypes, where: str = "--dtype") -> None:
    """One line and exit 2 (PrecheckError) before any load when a quantized precision cannot run here."""
    wanted = [d for d in dtypes if is_quantized(d)]
    if not wanted:
        return
    missing = sorted({p for d in wanted for p in NEEDS[LIBRARY[d]] if not _installed(p)})
    if missing:
        raise PrecheckError(f"{where} {wanted[0]} needs {', '.join(missing)}, which "
                            f"{'is' if len(missing) == 1 else 'are'} not installed",
                            install_hint("quant"))
    try:
        major = int(metadata.version("transformers").split(".")[0])
    except (metadata.PackageNotFoundError, ValueError):
        return
    if major < FIRST_TRANSFORMERS:
        raise PrecheckError(f"{where} {wanted[0]}: quantized precisions need transformers "
                            f"{FIRST_TRANSFORMERS} or later (installed: {metadata.version('transformers')})",
                            "upgrade sentence-transformers and transformers, or scan fp16/bf16 only")


GATE_FIGURES = {"min_cosine": True, "min_spearman": True, "min_top1_agreement": False}  # figure -> open_low


def quantized_gates(value, where):
    """Per quantized precision, thresholds over its default gate: PRECISION.FIGURE=VALUE strings (the
    repeated flag) or a table {precision: {figure: value}} (config, API) -> {precision: {figure: float}}."""
    from .dtypes import parse_low_dtype

    if isinstance(value, (list, tuple)):
        table: dict = {}
        for item in value:
            key, sep, text = str(item).partition("=")
            precision, dot, figure = key.strip().partition(".")
            if not sep or not dot:
                raise PrecheckError(f"{where} {item!r} is not PRECISION.FIGURE=VALUE",
                                    f"for example {where} nf4.min_top1_agreement=0.95")
            try:
                table.setdefault(precision, {})[figure] = float(text)
            except ValueError:
                table.setdefault(precision, {})[figure] = text.strip()  # refused below, by name
        value = table
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise PrecheckError(f"{where} should be a table of precision -> {{figure = value}}, got {value!r}",
                            "for example [tool.precheck.gates.nf4] min_top1_agreement = 0.95")
    gates: dict = {}
    for precision, figures in value.items():
        name = parse_low_dtype(str(precision))
        if not is_quantized(name):
            raise PrecheckError(f"{where}: {precision} is gated by --min-cosine, --min-spearman and "
                                "--min-top1-agreement", "gate quantized precisions here (int8, nf4, ...)")
        for figure, threshold in figures.items():
            figure_name = str(figure).strip().replace("-", "_")
            if figure_name not in GATE_FIGURES:
                raise PrecheckError(f"{where}: {precision}.{figure} is no gate",
                                    f"gate one of {', '.join(GATE_FIGURES)}")
            gates.setdefault(name, {})[figure_name] = share(GATE_FIGURES[figure_name])(
                threshold, f"{where} {name}.{figure_name}")
    return gates


def storage_precisions(value, where):
    if not isinstance(value, (str, list, tuple)) or not all(isinstance(v, str) for v in ([value] if isinstance(value, str) else value)):
        raise PrecheckError(f"{where} should be a list of storage precisions such as [\"int8\", \"binary\"]")
    try:
        return parse_precisions(value)
    except PrecheckError as exc:
        raise PrecheckError(f"{where}: {exc.message.removeprefix('--storage: ')}", exc.hint) from exc


def path_value(value, where):
    if isinstance(value, Path):
        return value
    return Path(non_empty_text(value, where))


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_size(text: str) -> int:
    match = _SIZE.match(text)
    if not match:
        raise PrecheckError(f"--max-memory: {text!r} is not a size", "for example 20GiB, 512MiB or 8GB")
    return int(float(match.group(1)) * _UNITS[(match.group(2) or "B").lower()])


def parse_max_memory(text: str | None) -> dict[str, int]:
    """'cuda=20GiB,cpu=60GiB' -> {'cuda': bytes, 'cpu': bytes}."""
    budget: dict[str, int] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        key, sep, size = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in ("cpu", "cuda", "mps"):
            raise PrecheckError(f"--max-memory: {part.strip()!r} is not DEVICE=SIZE",
                                "for example --max-memory cuda=20GiB,cpu=60GiB (devices: cuda, mps, cpu)")
        if key in budget:
            # Two budgets for one device: whichever won, the other was silently dropped.
            raise PrecheckError(f"--max-memory names {key} twice ({text.strip()!r})",
                                f"give each device one budget, for example --max-memory {key}=20GiB")
        budget[key] = parse_size(size)
    return budget


def memory_budget(value, where):
    text = non_empty_text(value, where)
    try:
        budget = parse_max_memory(text)
    except PrecheckError as exc:
        raise PrecheckError(f"{where}: {exc.message.removeprefix('--max-memory: ')}", exc.hint) from exc
    if not budget:
        raise PrecheckError(f"{where}: {text!r} names no device", "for example cuda=20GiB,cpu=60GiB")
    return text


def _json_value(text: str):
    """VALUE of KEY=VALUE: JSON (false, 2, "x", {"a": 1}), else the plain string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def key_values(reserved: dict[str, str] | None = None):
    """KEY=VALUE strings (repeated flag) or a TOML table -> a dict of JSON values."""
    def check(value, where):
        if isinstance(value, (list, tuple)):
            pairs = {}
            for item in value:
                key, sep, text = str(item).partition("=")
                if not sep or not key.strip():
                    raise PrecheckError(f"{where} {item!r} is not KEY=VALUE",
                                        f"for example {where} key=false (VALUE is read as JSON, else as text)")
                if key.strip() in pairs:
                    raise PrecheckError(f"{where}: {key.strip()} is given twice")
                pairs[key.strip()] = _json_value(text.strip())
            value = pairs
        if not isinstance(value, dict):
            raise PrecheckError(f"{where} should be a table of KEY = VALUE, got {value!r}")
        for key in value:
            if reserved and key in reserved:
                raise PrecheckError(f"{where} cannot set {key}: precheck sets it for each run",
                                    f"use {reserved[key]}")
        try:
            json.dumps(value)
        except (TypeError, ValueError) as exc:
            raise PrecheckError(f"{where}: values must be JSON values (strings, numbers, true/false, lists, "
                                f"tables): {exc}") from exc
        return dict(value)
    return check


def refuse_foreign_budget(max_memory: str | None, device: str, flag: str = "--max-memory") -> None:
    """A budget for a device the run does not use is refused, not ignored: it would make the plan
    lie about the run."""
    foreign = sorted(set(parse_max_memory(max_memory)) - {"cpu", device})
    if foreign:
        raise PrecheckError(f"{flag} names {', '.join(foreign)}, but the run is on {device}",
                            "give only cpu=SIZE and the run's device, or choose the device with --device")
