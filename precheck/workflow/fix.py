"""Apply a plan: `precheck.load` for Python code, and `precheck fix`'s folder with precheck.json.

The folder is the model's own files plus precheck.json; precheck reloads it and
verifies it against float32 before it says the fix is done.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..data.fix import FixOutcome
from ..data.plan import Plan, plan_problem
from ..errors import PrecheckError
from ..repair.plans import apply_plan, check_kept_modules, plan_from_report

PLAN_FILE = "precheck.json"


def read_plan(folder: Path) -> Plan | None:
    """The folder's precheck.json, checked against the published plan schema before any of it is used."""
    from ..data.reading import read_text_input
    from ..data.schema import PLAN_FILE_SCHEMA
    from ..data.schema.check import first_problem

    path = folder / PLAN_FILE
    if not path.is_file():
        return None
    hint = "delete it, or rerun precheck fix"
    try:
        data = json.loads(read_text_input(path, PLAN_FILE, hint))
    except ValueError as exc:
        raise PrecheckError(f"{path} is not JSON: {exc}", hint) from exc
    problem = first_problem(data, PLAN_FILE_SCHEMA)
    if problem:
        raise PrecheckError(f"{path} is not a precheck plan: {problem}", hint)
    plan = Plan.from_dict(data)
    problem = plan_problem(plan)
    if problem:
        raise PrecheckError(f"{path} is not a precheck plan for {plan.dtype}: {problem}", hint)
    return plan


def load_planned(model, plan: Plan, device: str, trust_remote_code: bool, given: dict | None = None):
    """Load a resolved model with its weights in the plan's dtype, with the load options the plan was
    verified with (and those `given` now, which win), and apply the plan."""
    from ..loading.load import load_model
    from ..options import LoadOptions
    from ..diagnosis.reference_check import BufferRepair, repaired

    options = LoadOptions.from_dict({**plan_load_options(plan, model.path), **(given or {})}, trust_remote_code)
    loaded = load_model(model, device, plan.weights_dtype, options, keep_unquantized=plan.keep_unquantized)
    check_kept_modules(loaded, plan)
    # Buffers the installed transformers left uninitialised, copied from a fresh instance as the scan did.
    if plan.repair_buffers:
        check_repair_buffers(loaded, plan.repair_buffers)
    loaded = repaired(loaded, BufferRepair(dict(plan.repair_buffers)) if plan.repair_buffers else None)
    return apply_plan(loaded, plan, device)


def plan_load_options(plan: Plan, folder) -> dict:
    """The plan's load options through the checks every option takes (options.py): a plan cannot
    load another dtype through model_kwargs, nor carry a value the command line would refuse."""
    from ..options import LoadOptions, checked_values

    known = set(LoadOptions.__dataclass_fields__) - {"trust_remote_code"}
    where = lambda name: f"{Path(folder) / PLAN_FILE} load.{name}"  # noqa: E731
    unknown = sorted(set(plan.load) - known)
    if unknown:
        raise PrecheckError(f"{where(unknown[0])}: unknown load option", "delete the file, or rerun precheck fix")
    return checked_values(dict(plan.load), where)


def check_repair_buffers(loaded, owners: dict) -> None:
    """Each buffer the plan's repair_buffers names is a buffer of this model, before anything is copied."""
    from ..kinds import torch_module

    net = torch_module(loaded)
    hint = "the plan was made for another model: rerun precheck fix on this one"
    for owner_path, names in owners.items():
        try:
            owner = net.get_submodule(owner_path)
        except AttributeError:
            raise PrecheckError(f"the plan's repair_buffers names module {owner_path!r}, which this model does not "
                                "have", hint) from None
        for name in names:
            try:
                owner.get_buffer(name)
            except AttributeError:
                where = f"{owner_path}.{name}" if owner_path else name
                raise PrecheckError(f"the plan's repair_buffers names {where!r}, which is not a buffer of this model",
                                    hint) from None


def load(name_or_path: str, dtype: str = "fp16", device: str = "auto", trust_remote_code: bool = False,
         kind: str = "auto", scan: bool = True, **scan_options):
    """A SentenceTransformer (CrossEncoder, SparseEncoder: the model's own kind) that works in `dtype`:
    with the plan from precheck.json when the folder has one for this dtype, or with the plan a scan finds now
    (logged on the "precheck" logger with its cost; scan=False refuses instead of scanning).
    scan_options: ScanOptions fields, among them the load options (config_kwargs, max_seq_length, ...)."""
    from dataclasses import fields

    from ..devices import resolve_device
    from ..loading.load import check_remote_code, quiet_libraries, resolve_model
    from ..options import LoadOptions, api_options, is_model_object

    if is_model_object(name_or_path):
        raise PrecheckError(f"precheck.load takes a model's name or folder, got an in-memory "
                            f"{type(name_or_path).__name__}",
                            "for an object, precheck.fix(model, dtype) returns its fixed copy; or save it with "
                            "model.save(FOLDER) and precheck.load(FOLDER)")
    if not isinstance(dtype, str):
        raise PrecheckError(f"dtype should be one dtype name such as \"fp16\", got {dtype!r}",
                            "precheck.load returns one model: pass fp16 or bf16")
    # The same door as precheck.scan and the command line, whether or not a plan is found below.
    checked = api_options(name_or_path, dtypes=dtype, device=device, trust_remote_code=trust_remote_code,
                          kind=kind, **scan_options)
    if len(checked.dtypes) != 1:
        raise PrecheckError(f"dtype {dtype!r} names {len(checked.dtypes)} dtypes",
                            "precheck.load returns one model: pass fp16 or bf16")
    wanted = checked.dtypes[0]
    scan_options = {name: getattr(checked, name) for name in scan_options}
    model = resolve_model(name_or_path, kind, scan_options.get("revision"))
    check_remote_code(model, trust_remote_code)
    resolved_device = resolve_device(device)
    quiet_libraries()
    folder = Path(model.path)
    plan = read_plan(folder) if folder.is_dir() else None
    if plan is None or plan.dtype != wanted:
        report = scan_for_plan(name_or_path, wanted, resolved_device, trust_remote_code, model, scan, scan_options,
                               "a plan for another dtype" if plan is not None else "no plan")
        plan = plan_from_report(report, wanted)
        if plan is None:
            raise PrecheckError(f"{name_or_path} has no verified way to run in {wanted}",
                                "run precheck scan to see why, or keep float32")
    given = {f.name: scan_options[f.name] for f in fields(LoadOptions) if scan_options.get(f.name) not in (None, {})}
    return load_planned(model, plan, resolved_device, trust_remote_code, given)


def fixed_copy(model, dtype: str = "fp16", device: str = "auto", **scan_options):
    """(a copy of `model` with the verified fix for `dtype` applied, its Plan): `precheck.fix`. `model` is a
    name, a folder or a loaded object; an object is left as it was (the copy comes from the scan's source)."""
    from ..engine.scanner import scan_with_session
    from ..options import api_options

    if not isinstance(dtype, str):
        raise PrecheckError(f"dtype should be one dtype name such as \"fp16\", got {dtype!r}",
                            "precheck.fix returns one model: pass fp16 or bf16")
    options = api_options(model, dtypes=dtype, device=device, **scan_options)
    if len(options.dtypes) != 1:
        raise PrecheckError(f"dtype {dtype!r} names {len(options.dtypes)} dtypes",
                            "precheck.fix returns one model: pass fp16 or bf16")
    report, session = scan_with_session(options)
    wanted = options.dtypes[0]
    plan = plan_from_report(report, wanted)
    if plan is None:
        raise PrecheckError(f"{options.model_name} has no verified way to run in {wanted}",
                            "precheck.scan(model) says why; or keep float32")
    with session.source.kept_as_given():
        return apply_plan(session.load(plan.weights_dtype), plan, session.device), plan


def scan_for_plan(name_or_path: str, wanted: str, device: str, trust_remote_code: bool, model, scan: bool,
                  scan_options: dict, found: str):
    """The scan precheck.load runs when the folder has no plan for `wanted`: said on the "precheck" logger
    (it may sit in a service's start-up path), or refused with scan=False."""
    import logging
    import time

    from ..engine.scanner import ScanOptions, run_scan

    where = f"{name_or_path} ({Path(model.path) / PLAN_FILE}: {found})" if Path(model.path).is_dir() \
        else f"{name_or_path} (no local folder, so no {PLAN_FILE})"
    if not scan:
        raise PrecheckError(f"{where}: no verified plan for {wanted}, and scan=False",
                            f"run precheck fix {name_or_path} --dtype {wanted} --out FOLDER once and load FOLDER, "
                            "or pass scan=True")
    log = logging.getLogger("precheck")
    log.warning("precheck.load: %s: scanning for a %s plan (a float32 reference and %s runs; seconds to minutes; "
                "precheck fix writes a folder that loads without one)", where, wanted, wanted)
    start = time.perf_counter()
    report = run_scan(ScanOptions(model=name_or_path, dtypes=(wanted,), device=device,
                                  trust_remote_code=trust_remote_code, kind=model.kind, **scan_options))
    log.warning("precheck.load: the scan of %s took %.1f s (float32 reference %s)", name_or_path,
                time.perf_counter() - start, "reused from the cache" if report.reference.cached else "computed")
    return report


def check_out_dir(out: Path, force: bool) -> None:
    from ..io.outputs import Output, check_outputs

    check_outputs([Output("--out", out, folder=True)], force)


def check_fix_paths(model: str, kind: str, out: Path, force: bool, json_path: str | None = None,
                    inputs: list | None = None, revision: str | None = None) -> Path:
    """Everything about fix's paths that can be known before the scan; returns the model's folder.
    --out overlapping anything fix reads (the model first) is refused, whatever --force says."""
    from ..io.inputs import Input, model_inputs
    from ..loading.load import resolve_model
    from ..io.outputs import Output, check_outputs

    source = Path(resolve_model(model, kind, revision).path)
    if not source.is_dir():
        raise PrecheckError(f"cannot copy {model}: no local folder for it", "pass a local model folder")
    check_outputs([Output("--out", out, folder=True), Output("--json", json_path)], force,
                  [Input("model folder", source), *model_inputs(model), *(inputs or ())])
    return source


def provenance(options, model) -> dict:
    """Where the copied files came from: the hub id and the snapshot's revision for a model in the Hugging
    Face cache, else the folder's absolute path."""
    if model.source in ("cache", "hub"):
        revision = options.revision or (Path(model.path).name if Path(model.path).parent.name == "snapshots" else None)
        return {"source": options.model, **({"revision": revision} if revision else {})}
    return {"source": str(Path(model.path).resolve()), **({"revision": options.revision} if options.revision else {})}


_WEIGHT_FILES = ("*.safetensors", "*.safetensors.index.json", "pytorch_model*.bin", "pytorch_model*.bin.index.json")


def _weight_files(folder: Path) -> list[Path]:
    return sorted({p for pattern in _WEIGHT_FILES for p in folder.rglob(pattern) if p.is_file()})


def write_weights_in(staging: Path, session, plan: Plan, options) -> str:
    """For a plan whose weights load in a half dtype ("load", a switch to bfloat16): the copy's weight files
    replaced by the model saved as that load leaves it (safetensors; modules transformers keeps in float32
    stay float32), so a server reads half the bytes. Returns the dtype the weight files hold."""
    import tempfile

    from ..loading.load import load_model, release_memory, resolve_model

    dtype = plan.weights_dtype
    if dtype not in ("float16", "bfloat16") or plan.repair_buffers:
        return "float32"
    with tempfile.TemporaryDirectory(prefix=".precheck-weights-", dir=staging.parent) as temp:
        model = load_model(resolve_model(str(staging), session.model.kind), "cpu", dtype, options.load)
        if not callable(getattr(model, "save", None)):
            return "float32"
        model.save(temp)
        del model
        release_memory()
        saved = Path(temp)
        written = _weight_files(saved)
        if not written or any(p.suffix == ".bin" for p in written):
            return "float32"
        for old in _weight_files(staging):
            old.unlink()
        for new in written:
            target = staging / new.relative_to(saved)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(new), target)
    return dtype


def write_fixed_model(options, out: Path, force: bool, progress) -> FixOutcome:
    """Scan one dtype, take its plan, build model + precheck.json in a folder beside `out`,
    reload and verify it there, then rename it into place: an interrupt or a failure at any
    step leaves `out` as it was."""
    from ..loading.load import resolve_model
    from ..io.outputs import modes_as_source, publish_folder, staged_folder
    from ..io.inputs import option_inputs
    from ..engine.scanner import scan_with_session

    source = check_fix_paths(options.model, options.kind, out, force,
                             inputs=option_inputs(options),
                             revision=options.revision)
    report, session = scan_with_session(options, progress)
    dtype = options.dtypes[0]
    plan = plan_from_report(report, dtype)
    if plan is None:
        return FixOutcome(report, None, None, None)
    progress(f"writing {out}")
    with staged_folder(out) as staging:
        shutil.copytree(source, staging, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(PLAN_FILE, ".git", "__pycache__"))
        # The folder is a copy of one revision: loading it again takes no revision (it is kept as provenance).
        plan.load.pop("revision", None)
        weights = write_weights_in(staging, session, plan, options)
        modes_as_source(staging, source)
        plan_data = {
            **plan.to_dict(),
            **provenance(options, session.model),
            "weights_dtype": weights,
            "min_cosine": options.min_cosine,
            "environment": {"torch": report.environment.torch,
                            "sentence_transformers": report.environment.sentence_transformers},
        }
        (staging / PLAN_FILE).write_text(json.dumps(plan_data, indent=2) + "\n", encoding="utf-8")
        progress(f"reloading {out} to verify it")
        written = resolve_model(str(staging), session.model.kind)
        # A plan that only sets dtypes ("load", "cast") leaves nothing a fingerprint misses: a reload whose
        # weights, buffers, classes and attention kernel are the scan's run's bit for bit takes its figures
        # instead of a second encode (the slowest step of fix on a CPU). Hooks and autocast are encoded again.
        check = session.probe(dtype, plan.strategy,
                              lambda: load_planned(written, read_plan(staging), session.device,
                                                   options.trust_remote_code),
                              reuse=plan.strategy in ("load", "cast") and not plan.quantized)
        if check.status != "ok":
            # Verified or not at all: a folder whose reload fails the check is not put in place.
            return FixOutcome(report, plan, None, check)
        publish_folder(staging, out, force)
    return FixOutcome(report, plan, out, check)
