"""The project config for `precheck ci`: `[tool.precheck]` in pyproject.toml, or precheck.toml.

Every key is checked: an unknown key or a bad value stops precheck (exit 2) with the key's
full name, so that a typo never silently turns a gate off.
"""
from __future__ import annotations

from dataclasses import dataclass, field, make_dataclass
from pathlib import Path

from ..errors import ConfigNotFound, PrecheckError
from ..options import check_combination, file_options, scan_fields
from ..data.reading import read_text_input
from ..words import a

# The keys of a defaults or model table: one per ScanOptions field (precheck/options.py), same check.

def config_keys() -> dict:
    """config key -> (ScanOptions field name, Option)."""
    return {(how.config_key or f.name): (f.name, how) for f, how in scan_fields()}


def checked_config_table(where: str, table: dict, extra: dict[str, type] | None = None) -> dict:
    """A [tool.precheck] defaults or model table, checked: config keys -> checked values. `extra`:
    keys that are not scan options (a model's `name`) and their TOML type."""
    keys = config_keys()
    known = sorted([*keys, *(extra or {})])
    if not isinstance(table, dict):
        raise PrecheckError(f"{where} should be a table")
    checked = {}
    for key, value in table.items():
        name = f"{where}.{key}"
        if extra and key in extra:
            if not isinstance(value, extra[key]):
                raise PrecheckError(f"{name} should be {a(extra[key].__name__)}, got {value!r}")
            checked[key] = value
            continue
        if key not in keys:
            raise PrecheckError(f"{name}: unknown key", f"known keys: {', '.join(known)}")
        _, how = keys[key]
        expected = how.config_type
        if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
            label = {str: "a string", bool: "a boolean", int: "an integer", list: "a list", dict: "a table"}.get(
                expected, "a number")
            raise PrecheckError(f"{name} should be {label}, got {value!r}")
        checked[key] = how.check(value, name)
    return checked


def check_merged_table(merged: dict, origin: dict[str, str]) -> None:
    """The checks across options on one model's settings once its table is merged over the defaults,
    each key named where it was written (`tool.precheck.defaults.prompt`, `...models[1].prompt_name`)."""
    keys = config_keys()
    by_field = {keys[k][0]: v for k, v in merged.items() if k in keys}
    check_combination(by_field, lambda field_name: origin[_config_key(field_name)]
                      if _config_key(field_name) in origin else _config_key(field_name))


def _config_key(field_name: str) -> str:
    return next(key for key, (name, _) in config_keys().items() if name == field_name)


def options_from_config(values: dict) -> dict:
    """Checked config values (config keys) -> ScanOptions keyword arguments."""
    keys = config_keys()
    return {keys[k][0]: v for k, v in values.items() if k in keys}


def _model_config_fields() -> list:
    """name, then one field per config key of precheck/options.py with ScanOptions' default, then source."""
    from dataclasses import MISSING, fields

    from ..options import ScanOptions

    defaults = {f.name: f for f in fields(ScanOptions)}
    out: list = [("name", str)]
    for key, (name, _) in config_keys().items():
        default = defaults[name]
        out.append((key, object, field(default_factory=default.default_factory) if default.default is MISSING
                    else field(default=default.default)))
    # a local `name` resolved against the config file's folder; else None
    out.append(("source", "str | None", field(default=None)))
    return out


# One model of the config: its name, every scan option's config key (defaults from ScanOptions).
ModelConfig = make_dataclass("ModelConfig", _model_config_fields(), frozen=True)
MODEL_KEYS = {"name": str, **{key: how.config_type for key, (_, how) in config_keys().items()}}
DEFAULT_KEYS = {k: v for k, v in MODEL_KEYS.items() if k != "name"}
TOP_KEYS = {"models", "defaults", "baseline", "tolerance", "html"}
BASELINE_FILE = "precheck-baseline.json"


@dataclass(frozen=True)
class CiConfig:
    path: Path
    models: tuple  # of ModelConfig
    baseline: Path
    tolerance: dict = field(default_factory=dict)
    digest: str = ""  # sha256 of the config's content (its precheck section): part of a run's identity
    html: Path | None = None  # the --html page `ci` writes every run (replaced by design), relative to the config


def _read_toml(path: Path) -> dict:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    text = read_text_input(path, "--config", "pass a precheck.toml or pyproject.toml")
    try:
        return tomllib.loads(text)
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
    raise ConfigNotFound("no precheck config found (precheck.toml, or [tool.precheck] in pyproject.toml)",
                        "see docs/ci.md for an example, or pass --config")


def _tolerances(where: str, table) -> dict:
    if not isinstance(table, dict):
        raise PrecheckError(f"{where} should be a table")
    from .baseline import FIGURES

    allowed = tuple(FIGURES)
    checked = {}
    for key, value in table.items():
        if key not in allowed:
            raise PrecheckError(f"{where}.{key}: unknown key", f"known keys: {', '.join(sorted(allowed))}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise PrecheckError(f"{where}.{key} should be a number, got {value!r}")
        checked[key] = float(value)
    return checked


def parse_config(path: Path, section: dict) -> CiConfig:
    where = "tool.precheck" if path.name == "pyproject.toml" else path.name
    unknown = set(section) - TOP_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise PrecheckError(f"{where}.{key}: unknown key", f"known keys: {', '.join(sorted(TOP_KEYS))}")
    defaults = checked_config_table(f"{where}.defaults", section.get("defaults", {}))
    entries = section.get("models")
    if not isinstance(entries, list) or not entries:
        raise PrecheckError(f"{where}.models should be a non-empty list of tables ([[{where}.models]])")
    models = []
    seen = set()
    for index, entry in enumerate(entries):
        entry_where = f"{where}.models[{index}]"
        own = checked_config_table(entry_where, entry, {"name": str})
        checked = {**defaults, **own}
        # Across tables, before any model is scanned: a prompt in defaults and a prompt_name here conflict.
        check_merged_table(checked, {**{k: f"{where}.defaults.{k}" for k in defaults},
                                     **{k: f"{entry_where}.{k}" for k in own}})
        if not checked.get("name", "x").strip():
            raise PrecheckError(f"{entry_where}.name is empty", "give a model folder or a hub id")
        if "name" not in checked:
            raise PrecheckError(f"{entry_where}.name is missing", "each model needs a name (folder or hub id)")
        if checked["name"] in seen:
            raise PrecheckError(f"{entry_where}.name {checked['name']!r} is listed twice")
        seen.add(checked["name"])
        for _, key, _ in file_options():  # files, relative to the config file
            if checked.get(key) is not None:
                checked[key] = (path.parent / checked[key]).resolve()
        checked["source"] = local_model_path(path.parent, checked["name"])
        models.append(ModelConfig(**checked))
    baseline = section.get("baseline", BASELINE_FILE)
    if not isinstance(baseline, str) or not baseline.strip():
        raise PrecheckError(f"{where}.baseline should be a file path string, got {baseline!r}")
    tolerance = _tolerances(f"{where}.tolerance", section.get("tolerance", {}))
    html = section.get("html")
    if html is not None and (not isinstance(html, str) or not html.strip()):
        raise PrecheckError(f"{where}.html should be a file path string, got {html!r}")
    return CiConfig(path, tuple(models), (path.parent / baseline).resolve(), tolerance,
                    html=None if html is None else (path.parent / html).resolve())


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


def load_config(explicit: Path | None, cwd: Path) -> CiConfig:
    import hashlib
    import json
    from dataclasses import replace

    path, section = find_config(explicit, cwd)
    # The section as parsed, not the file's bytes: pyproject.toml's other tables and comments are not the run's.
    content = json.dumps(section, sort_keys=True, default=str).encode("utf-8")
    return replace(parse_config(path, section), digest="sha256:" + hashlib.sha256(content).hexdigest())
