"""The project config for `precheck ci`: `[tool.precheck]` in pyproject.toml, or precheck.toml.

Every key is checked: an unknown key or a bad value stops precheck (exit 2) with the key's
full name, so that a typo never silently turns a gate off.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import PrecheckError

MODEL_KEYS = {
    "name": str, "dtypes": list, "kind": str, "device": str, "trust_remote_code": bool,
    "min_cosine": float, "min_top1_agreement": float, "min_spearman": float,
    "texts": str, "pairs": str, "fix": bool,
    "storage": list, "min_recall": float, "calibration": str,  # --storage (docs/storage.md)
}
DEFAULT_KEYS = {k: v for k, v in MODEL_KEYS.items() if k != "name"}
TOP_KEYS = {"models", "defaults", "baseline", "tolerance"}
BASELINE_FILE = "precheck-baseline.json"


@dataclass(frozen=True)
class ModelConfig:
    name: str
    dtypes: tuple[str, ...]
    kind: str = "auto"
    device: str = "auto"
    trust_remote_code: bool = False
    min_cosine: float = 0.999
    min_top1_agreement: float = 0.0
    min_spearman: float = 0.99
    texts: Path | None = None
    pairs: Path | None = None
    fix: bool = True
    storage: tuple[str, ...] = ()
    min_recall: float = 0.8
    calibration: Path | None = None
    source: str | None = None  # a local `name` resolved against the config file's folder; else None


@dataclass(frozen=True)
class CiConfig:
    path: Path
    models: tuple[ModelConfig, ...]
    baseline: Path
    tolerance: dict = field(default_factory=dict)


def _read_toml(path: Path) -> dict:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise PrecheckError(f"cannot read {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PrecheckError(f"{path} is not valid TOML: {exc}") from exc


def find_config(explicit: Path | None, cwd: Path) -> tuple[Path, dict]:
    """--config, else ./precheck.toml (its top level), else ./pyproject.toml's [tool.precheck]."""
    candidates = [explicit] if explicit else [cwd / "precheck.toml", cwd / "pyproject.toml"]
    for path in candidates:
        if explicit and path.exists() and not path.is_file():
            raise PrecheckError(f"--config {explicit} is not a file", "pass a precheck.toml or pyproject.toml")
        if path is None or not path.is_file():
            if explicit:
                raise PrecheckError(f"--config {explicit} not found", "pass a precheck.toml or pyproject.toml")
            continue
        data = _read_toml(path)
        if path.name == "pyproject.toml":
            tool = data.get("tool", {})
            if not isinstance(tool, dict):
                raise PrecheckError(f"{path}: tool should be a table, got {tool!r}", "see docs/ci.md")
            section = tool.get("precheck")
            if section is None:
                if explicit:
                    raise PrecheckError(f"{path} has no [tool.precheck] section", "see docs/ci.md")
                continue
            if not isinstance(section, dict):
                raise PrecheckError(f"{path}: tool.precheck should be a table, got {section!r}", "see docs/ci.md")
            return path, section
        return path, data
    raise PrecheckError("no precheck config found (precheck.toml, or [tool.precheck] in pyproject.toml)",
                        "see docs/ci.md for an example, or pass --config")


def _check_value(where: str, key: str, value, expected: type):
    name = f"{where}.{key}"
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
        raise PrecheckError(f"{name} should be a {expected.__name__}, got {value!r}")
    if key in ("min_cosine", "min_spearman") and not 0 < value <= 1:
        raise PrecheckError(f"{name} must be in (0, 1], got {value}")
    if key == "min_top1_agreement" and not 0 <= value <= 1:
        raise PrecheckError(f"{name} must be in [0, 1], got {value}")
    if key == "kind" and value not in ("auto", "sentence-transformer", "cross-encoder", "sparse-encoder",
                                       "multi-vector-encoder"):
        raise PrecheckError(f"{name} must be auto, sentence-transformer, cross-encoder, sparse-encoder or "
                            f"multi-vector-encoder, got {value!r}")
    if key == "device" and value not in ("auto", "cpu", "cuda", "mps"):
        raise PrecheckError(f"{name} must be auto, cpu, cuda or mps, got {value!r}")
    if key == "min_recall" and not 0 <= value <= 1:
        raise PrecheckError(f"{name} must be in [0, 1], got {value}")
    if key == "storage":
        from ..storage import parse_precisions

        try:
            return list(parse_precisions(value))
        except PrecheckError as exc:
            raise PrecheckError(f"{name}: {exc.message.removeprefix('--storage: ')}", exc.hint) from exc
    if key == "dtypes":
        from ..dtypes import parse_low_dtypes

        if not value or not all(isinstance(v, str) for v in value):
            raise PrecheckError(f"{name} should be a non-empty list of dtype names such as [\"fp16\", \"bf16\"]")
        try:
            return list(parse_low_dtypes(value))
        except PrecheckError as exc:
            raise PrecheckError(f"{name}: {exc.message}", exc.hint) from exc
    return value


def _checked_table(where: str, table, allowed: dict) -> dict:
    if not isinstance(table, dict):
        raise PrecheckError(f"{where} should be a table")
    checked = {}
    for key, value in table.items():
        if key not in allowed:
            raise PrecheckError(f"{where}.{key}: unknown key", f"known keys: {', '.join(sorted(allowed))}")
        checked[key] = _check_value(where, key, value, allowed[key])
    return checked


def parse_config(path: Path, section: dict) -> CiConfig:
    where = "tool.precheck" if path.name == "pyproject.toml" else path.name
    unknown = set(section) - TOP_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise PrecheckError(f"{where}.{key}: unknown key", f"known keys: {', '.join(sorted(TOP_KEYS))}")
    defaults = _checked_table(f"{where}.defaults", section.get("defaults", {}), DEFAULT_KEYS)
    entries = section.get("models")
    if not isinstance(entries, list) or not entries:
        raise PrecheckError(f"{where}.models should be a non-empty list of tables ([[{where}.models]])")
    models = []
    seen = set()
    for index, entry in enumerate(entries):
        entry_where = f"{where}.models[{index}]"
        checked = {**defaults, **_checked_table(entry_where, entry, MODEL_KEYS)}
        if not checked.get("name", "x").strip():
            raise PrecheckError(f"{entry_where}.name is empty", "give a model folder or a hub id")
        if "name" not in checked:
            raise PrecheckError(f"{entry_where}.name is missing", "each model needs a name (folder or hub id)")
        if checked["name"] in seen:
            raise PrecheckError(f"{entry_where}.name {checked['name']!r} is listed twice")
        seen.add(checked["name"])
        checked["storage"] = tuple(checked.get("storage", ()))
        for key in ("texts", "pairs", "calibration"):
            if key in checked:
                checked[key] = (path.parent / checked[key]).resolve()
        checked["source"] = local_model_path(path.parent, checked["name"])
        checked["dtypes"] = tuple(checked.get("dtypes", ("float16", "bfloat16")))
        models.append(ModelConfig(**checked))
    baseline = section.get("baseline", BASELINE_FILE)
    if not isinstance(baseline, str) or not baseline.strip():
        raise PrecheckError(f"{where}.baseline should be a file path string, got {baseline!r}")
    tolerance = _checked_table(f"{where}.tolerance", section.get("tolerance", {}),
                               {"min_cosine": float, "top1_agreement": float, "spearman": float})
    return CiConfig(path, tuple(models), (path.parent / baseline).resolve(), tolerance)


def local_model_path(folder: Path, name: str) -> str | None:
    """A model `name` that is a folder relative to the config file (or looks like a path:
    ./x, ../x, ~/x, /x) is resolved against the config's folder, as texts and pairs are;
    anything else is a hub id."""
    text = name.strip()
    if not text:
        return None
    candidate = (folder / Path(text).expanduser())
    if candidate.exists() or text.startswith((".", "/", "~")):
        return str(candidate.resolve())
    return None


def config_inputs(config: CiConfig) -> dict[str, Path]:
    """Files the config points at, which no output of `precheck ci` may replace."""
    inputs: dict[str, Path] = {"config file": config.path, "baseline": config.baseline}
    for model in config.models:
        for key in ("texts", "pairs", "calibration"):
            if getattr(model, key) is not None:
                inputs[f"{key} file of {model.name}"] = getattr(model, key)
    return inputs


def load_config(explicit: Path | None, cwd: Path) -> CiConfig:
    path, section = find_config(explicit, cwd)
    return parse_config(path, section)
